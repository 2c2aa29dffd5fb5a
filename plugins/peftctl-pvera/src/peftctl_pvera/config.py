"""Pvera's options: the recipe's ``method.*`` keys, those of peft's
``PveraConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 256,
    "projection_prng_key": 0,
    "save_projection": True,
    "pvera_dropout": 0.0,
    "d_initial": 0.1,
    "fan_in_fan_out": False,
    "bias": "none",
    "init_weights": True,
    "sample_at_inference": False,
}
#: The options passed to peft's ``PveraConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)


@dataclass(kw_only=True)
class PveraConfig(TargetModulesConfig):
    """peft's ``PveraConfig``: VeRA with a probabilistic (sampled) projection."""

    name: str = field(default="pvera", metadata={"help": "Method name."})
    r: int = field(default=256, metadata={"help": "PVeRA parameter dimension ('rank') (peft's r)."})
    projection_prng_key: int = field(
        default=0,
        metadata={"help": "PVeRA PRNG init key (peft's projection_prng_key)."},
    )
    save_projection: bool = field(
        default=True,
        metadata={
            "help": "Whether to save the pvera_A / pvera_B projections in the state dict "
            "alongside per layer lambda_b / lambda_d weights (peft's "
            "save_projection)."
        },
    )
    pvera_dropout: float = field(
        default=0.0,
        metadata={"help": "The dropout probability for PVeRA layers (peft's pvera_dropout)."},
    )
    d_initial: float = field(
        default=0.1,
        metadata={"help": "Initial value for d vector (peft's d_initial)."},
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set this to True if the layer to replace stores weight like (fan_in, "
            "fan_out) (peft's fan_in_fan_out)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for PVeRA (peft's bias)."})
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to initialize the weights of the PVeRA layers with their default"
            " initialization (peft's init_weights)."
        },
    )
    sample_at_inference: bool = field(
        default=False,
        metadata={
            "help": "Whether to sample from the learned PVeRA distribution at inference "
            "(peft's sample_at_inference)."
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
        if any(getattr(self, name) != value for name, value in MEASURED_WITH.items()):
            return None  # measured with those options only
        return sum(512 + 1 * o for i, o in shapes)
