"""Tinylora's options: the recipe's ``method.*`` keys, those of peft's
``TinyLoraConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 2,
    "u": 64,
    "weight_tying": 0.0,
    "projection_seed": 42,
    "save_projection": True,
    "init_v_bound": 0.02,
    "tinylora_dropout": 0.0,
    "fan_in_fan_out": False,
    "bias": "none",
}
#: The options passed to peft's ``TinyLoraConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)


@dataclass(kw_only=True)
class TinyloraConfig(TargetModulesConfig):
    """peft's ``TinyLoraConfig``: LoRA updates from a tiny shared trained vector."""

    name: str = field(default="tinylora", metadata={"help": "Method name."})
    r: int = field(default=2, metadata={"help": "TinyLoRA SVD rank (frozen) (peft's r)."})
    u: int = field(
        default=64,
        metadata={"help": "Trainable vector dimension per group (peft's u)."},
    )
    weight_tying: float = field(
        default=0.0,
        metadata={
            "help": "Degree of weight tying across target modules (0.0 to 1.0) (peft's "
            "weight_tying)."
        },
    )
    projection_seed: int = field(
        default=42,
        metadata={
            "help": "Random seed for generating the fixed projection matrices P (peft's "
            "projection_seed)."
        },
    )
    save_projection: bool = field(
        default=True,
        metadata={
            "help": "Whether to save the projection tensors P in the state dict (peft's "
            "save_projection)."
        },
    )
    init_v_bound: float = field(
        default=0.02,
        metadata={"help": "Uniform init bound for v in [-bound, bound] (peft's init_v_bound)."},
    )
    tinylora_dropout: float = field(
        default=0.0,
        metadata={"help": "TinyLoRA dropout (peft's tinylora_dropout)."},
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set this to True if the layer to replace stores weight like (fan_in, "
            "fan_out) (peft's fan_in_fan_out)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for TinyLoRA (peft's bias)."})

    def validate(self) -> None:
        """Options that do not fit together are a user error: one line, exit code 2."""
        super().validate()

    def trainable_estimate(self, arch: Arch) -> int | None:
        """Trainable parameters on a model of shape ``arch`` (`peftctl list-methods`); exact
        for the options in MEASURED_WITH, None for others."""
        shapes = arch.targets(self.target_modules)  # every adapted linear: (in, out)
        if shapes is None:
            return None
        if any(getattr(self, name) != value for name, value in MEASURED_WITH.items()):
            return None  # measured with those options only
        return sum(64 for i, o in shapes)
