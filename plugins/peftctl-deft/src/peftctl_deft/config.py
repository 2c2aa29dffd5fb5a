"""Deft's options: the recipe's ``method.*`` keys, those of peft's
``DeftConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 8,
    "init_scale": 1.0,
    "para": False,
    "fan_in_fan_out": False,
    "deft_dropout": 0.0,
    "init_weights": True,
    "bias": "none",
}
#: The options passed to peft's ``DeftConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)


@dataclass(kw_only=True)
class DeftConfig(TargetModulesConfig):
    """peft's ``DeftConfig``: decomposed low-rank updates with a trained direction."""

    name: str = field(default="deft", metadata={"help": "Method name."})
    r: int = field(
        default=8,
        metadata={"help": "The rank of the DEFT projection/injection across layers (peft's r)."},
    )
    init_scale: float = field(
        default=1.0,
        metadata={
            "help": "Scaling applied to the std used to initialize the injection matrix R "
            "(peft's init_scale)."
        },
    )
    para: bool = field(
        default=False,
        metadata={
            "help": "Whether to use the PaRa method: pure subspace removal `delta = -P_proj @"
            " W` with no injection term (peft's para)."
        },
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set this to True if the layer to replace stores weight like (fan_in, "
            "fan_out) (peft's fan_in_fan_out)."
        },
    )
    deft_dropout: float = field(
        default=0.0,
        metadata={
            "help": "The dropout probability applied to the layer input (peft's deft_dropout)."
        },
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to initialize the weights of the DEFT layers with their default "
            "initialization (peft's init_weights)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for DEFT (peft's bias)."})

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
        return sum(8 * i + 8 * o for i, o in shapes)
