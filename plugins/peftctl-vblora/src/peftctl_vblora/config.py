"""Vblora's options: the recipe's ``method.*`` keys, those of peft's
``VBLoRAConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 4,
    "num_vectors": 256,
    "vector_length": 64,
    "topk": 2,
    "save_only_topk_weights": False,
    "vblora_dropout": 0.0,
    "fan_in_fan_out": False,
    "bias": "none",
    "init_vector_bank_bound": 0.02,
    "init_logits_std": 0.1,
}
#: The options passed to peft's ``VBLoRAConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (576, 192): 12288,
    (576, 576): 18432,
    (576, 1536): 33792,
    (1536, 576): 33792,
}
SHARED = 16384
#: The contract test's options (``tests/test_contract.py``): the defaults do not fit
#: the kit's tiny model.
TEST_OPTIONS = {
    "vector_length": 16,
}
#: With them, one adapted linear of the tiny model trains (measured on probes):
TEST_PER_LINEAR = {
    (32, 16): 3072,
    (32, 32): 4096,
    (32, 64): 6144,
    (64, 32): 6144,
}
TEST_SHARED = 4096


@dataclass(kw_only=True)
class VbloraConfig(TargetModulesConfig):
    """peft's ``VBLoRAConfig``: LoRA built from a shared bank of trained vectors."""

    name: str = field(default="vblora", metadata={"help": "Method name."})
    r: int = field(default=4, metadata={"help": "The rank of incremental matrices (peft's r)."})
    num_vectors: int = field(
        default=256,
        metadata={"help": "Number of vectors in the vector bank (peft's num_vectors)."},
    )
    vector_length: int = field(
        default=64,
        metadata={"help": "The length of the vectors in the vector bank (peft's vector_length)."},
    )
    topk: int = field(
        default=2,
        metadata={"help": "The K value for top-K selection (peft's topk)."},
    )
    save_only_topk_weights: bool = field(
        default=False,
        metadata={"help": "Whether to only save the topk weights (peft's save_only_topk_weights)."},
    )
    vblora_dropout: float = field(
        default=0.0,
        metadata={"help": "VBLoRA dropout (peft's vblora_dropout)."},
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set this to True if the layer to replace stores weight like (fan_in, "
            "fan_out) (peft's fan_in_fan_out)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for VBLoRA (peft's bias)."})
    init_vector_bank_bound: float = field(
        default=0.02,
        metadata={
            "help": "The vector bank is initialized with a uniform distribution between "
            "-init_vector_bank_bound and init_vector_bank_bound (peft's "
            "init_vector_bank_bound)."
        },
    )
    init_logits_std: float = field(
        default=0.1,
        metadata={
            "help": "The logits are initialized with a normal distribution with a standard "
            "deviation of init_logits_std (peft's init_logits_std)."
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
