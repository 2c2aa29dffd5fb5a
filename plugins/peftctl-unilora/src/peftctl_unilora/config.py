"""Unilora's options: the recipe's ``method.*`` keys, those of peft's
``UniLoraConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 4,
    "proj_seed": 42,
    "theta_d_length": 23040,
    "unilora_dropout": 0.0,
    "fan_in_fan_out": False,
    "bias": "none",
    "init_theta_d_bound": 0.02,
    "init_weights": True,
    "save_indices": False,
}
#: The options passed to peft's ``UniLoraConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (32, 16): 0,
    (32, 32): 0,
    (32, 64): 0,
    (64, 32): 0,
    (576, 192): 0,
    (576, 576): 0,
    (576, 1536): 0,
    (1536, 576): 0,
}
SHARED = 23040
#: The contract test's options (``tests/test_contract.py``): the defaults do not fit
#: the kit's tiny model.
TEST_OPTIONS = {
    "theta_d_length": 256,
}
#: With them, one adapted linear of the tiny model trains (measured on probes):
TEST_PER_LINEAR = {
    (32, 16): 0,
    (32, 32): 0,
    (32, 64): 0,
    (64, 32): 0,
}
TEST_SHARED = 256


@dataclass(kw_only=True)
class UniloraConfig(TargetModulesConfig):
    """peft's ``UniLoraConfig``: LoRA weights drawn from one shared trained vector."""

    name: str = field(default="unilora", metadata={"help": "Method name."})
    r: int = field(default=4, metadata={"help": "Rank of the low-rank adaptation (peft's r)."})
    proj_seed: int = field(
        default=42,
        metadata={
            "help": "Random seed used to generate the fixed index assignment (peft's proj_seed)."
        },
    )
    theta_d_length: int = field(
        default=23040,
        metadata={"help": "Length of the shared UniLora vector `theta_d` (peft's theta_d_length)."},
    )
    unilora_dropout: float = field(
        default=0.0,
        metadata={
            "help": "Dropout probability used inside UniLora layers (peft's unilora_dropout)."
        },
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set to True if the target layer stores weights in (fan_in, fan_out) "
            "format, e.g., GPT-2 Conv1D layers (peft's fan_in_fan_out)."
        },
    )
    bias: str = field(
        default="none",
        metadata={"help": "Bias handling strategy for UniLora (peft's bias)."},
    )
    init_theta_d_bound: float = field(
        default=0.02,
        metadata={"help": "Initialization bound for UniLora vectors (peft's init_theta_d_bound)."},
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to initialize `theta_d` with the default UniLora initialization "
            "(peft's init_weights)."
        },
    )
    save_indices: bool = field(
        default=False,
        metadata={
            "help": "Whether to save the generated UniLora index and scale buffers alongside "
            "`theta_d` (peft's save_indices)."
        },
    )

    def validate(self) -> None:
        """Options that do not fit together are a user error: one line, exit code 2."""
        super().validate()

    def trainable_estimate(self, arch: Arch) -> int | None:
        """Trainable parameters on a model of shape ``arch`` (`peftctl list-methods`); exact
        for the options in MEASURED_WITH, None for others."""
        shapes = arch.targets(self.target_modules)  # every adapted linear: (in, out)
        if shapes is None:
            return None
        if all(getattr(self, k) == v for k, v in {**MEASURED_WITH, **TEST_OPTIONS}.items()):
            if any(shape not in TEST_PER_LINEAR for shape in shapes):
                return None
            return TEST_SHARED + sum(TEST_PER_LINEAR[shape] for shape in shapes)
        if any(getattr(self, name) != value for name, value in MEASURED_WITH.items()):
            return None  # measured with those options only
        if any(shape not in PER_LINEAR for shape in shapes):
            return None
        return SHARED + sum(PER_LINEAR[shape] for shape in shapes)
