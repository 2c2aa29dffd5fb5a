"""Gralora's options: the recipe's ``method.*`` keys, those of peft's
``GraloraConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 32,
    "hybrid_r": 0,
    "alpha": 64,
    "gralora_dropout": 0.0,
    "gralora_k": 2,
    "fan_in_fan_out": False,
    "bias": "none",
    "init_weights": True,
}
#: The options passed to peft's ``GraloraConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: The contract test's options (``tests/test_contract.py``): the defaults do not fit
#: the kit's tiny model.
TEST_OPTIONS = {
    "r": 8,
}
#: With them, one adapted linear of the tiny model trains (measured on probes):
TEST_PER_LINEAR = {
    (32, 16): 384,
    (32, 32): 512,
    (32, 64): 768,
    (64, 32): 768,
}
TEST_SHARED = 0


@dataclass(kw_only=True)
class GraloraConfig(TargetModulesConfig):
    """peft's ``GraloraConfig``: granular LoRA: a grid of small blocks per weight."""

    name: str = field(default="gralora", metadata={"help": "Method name."})
    r: int = field(
        default=32,
        metadata={
            "help": "GraLoRA attention dimension determines the rank of the GraLoRA adapter "
            "(peft's r)."
        },
    )
    hybrid_r: int = field(
        default=0,
        metadata={
            "help": "hybrid_r is the rank allocated to vanilla LoRA method when using Hybrid "
            "GraLoRA method (peft's hybrid_r)."
        },
    )
    alpha: int = field(
        default=64,
        metadata={
            "help": "gralora alpha is the scaling factor for the GraLoRA adapter (peft's alpha)."
        },
    )
    gralora_dropout: float = field(
        default=0.0,
        metadata={"help": "gralora dropout (peft's gralora_dropout)."},
    )
    gralora_k: int = field(
        default=2,
        metadata={
            "help": "gralora_k determines the number of subblocks in the GraLoRA adapter "
            "(peft's gralora_k)."
        },
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set this to True if the layer to replace stores weight like (fan_in, "
            "fan_out) (peft's fan_in_fan_out)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for gralora (peft's bias)."})
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to initialize the weights of the GraLoRA layers with their "
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
        return sum(32 * i + 32 * o for i, o in shapes)
