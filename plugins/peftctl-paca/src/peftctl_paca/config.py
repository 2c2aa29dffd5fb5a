"""Paca's options: the recipe's ``method.*`` keys, those of peft's
``PacaConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 8,
    "paca_alpha": 8,
    "random_seed": 0,
    "init_weights": True,
}
#: The options passed to peft's ``PacaConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)


@dataclass(kw_only=True)
class PacaConfig(TargetModulesConfig):
    """peft's ``PacaConfig``: partial connection adaptation: a few trained weight columns."""

    name: str = field(default="paca", metadata={"help": "Method name."})
    r: int = field(
        default=8,
        metadata={
            "help": "Number of input columns (partial connections) that are fine-tuned in "
            "each targeted layer (peft's r)."
        },
    )
    paca_alpha: int = field(default=8, metadata={"help": "Scaling factor (peft's paca_alpha)."})
    random_seed: int = field(
        default=0,
        metadata={"help": "Seed used to select the partial connections (peft's random_seed)."},
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "If `True`, the update of the selected columns is initialized to zero, "
            "i.e (peft's init_weights)."
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
        return sum(8 * o for i, o in shapes)
