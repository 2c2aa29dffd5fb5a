"""Randlora's options: the recipe's ``method.*`` keys, those of peft's
``RandLoraConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 32,
    "projection_prng_key": 0,
    "save_projection": True,
    "sparse": False,
    "very_sparse": False,
    "randlora_dropout": 0.0,
    "fan_in_fan_out": False,
    "randlora_alpha": 640,
    "bias": "none",
    "init_weights": True,
}
#: The options passed to peft's ``RandLoraConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (32, 16): 48,
    (32, 32): 64,
    (32, 64): 64,
    (64, 32): 64,
    (576, 192): 1344,
    (576, 576): 10944,
    (576, 1536): 10944,
    (1536, 576): 10944,
}
SHARED = 0
#: The contract test's options (``tests/test_contract.py``): the defaults do not fit
#: the kit's tiny model.
TEST_OPTIONS = {
    "r": 8,
}
#: With them, one adapted linear of the tiny model trains (measured on probes):
TEST_PER_LINEAR = {
    (32, 16): 48,
    (32, 32): 160,
    (32, 64): 160,
    (64, 32): 160,
}
TEST_SHARED = 0


@dataclass(kw_only=True)
class RandloraConfig(TargetModulesConfig):
    """peft's ``RandLoraConfig``: full-rank updates from random low-rank bases."""

    name: str = field(default="randlora", metadata={"help": "Method name."})
    r: int = field(default=32, metadata={"help": "RandLora random basis rank (peft's r)."})
    projection_prng_key: int = field(
        default=0,
        metadata={"help": "RandLora PRNG init key (peft's projection_prng_key)."},
    )
    save_projection: bool = field(
        default=True,
        metadata={
            "help": "Whether to save the basis_A / basis_B projections in the state dict "
            "alongside per layer lambda / gamma weights (peft's save_projection)."
        },
    )
    sparse: bool = field(
        default=False,
        metadata={
            "help": "Whether to use sparse random bases as described in the RandLora "
            "paper.The current implementation is a proof of concept where the "
            "sparsenessis not used to improve speed or memory usage (peft's sparse)."
        },
    )
    very_sparse: bool = field(
        default=False,
        metadata={
            "help": "Whether to use very sparse random bases.The current implementation is a "
            "proof of concept where the sparsenessis not used to improve speed or "
            "memory usage (peft's very_sparse)."
        },
    )
    randlora_dropout: float = field(
        default=0.0,
        metadata={"help": "Dropout in the adapter layers (peft's randlora_dropout)."},
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set this to True if the layer to replace stores weight like (fan_in, "
            "fan_out) (peft's fan_in_fan_out)."
        },
    )
    randlora_alpha: int = field(
        default=640,
        metadata={
            "help": "Scaling coefficient in the adapter layers, typically 20 times the rank "
            "of the random bases (peft's randlora_alpha)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for RandLora (peft's bias)."})
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to initialize the weights of the RandLora layers with their "
            "default initialization (peft's init_weights)."
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
