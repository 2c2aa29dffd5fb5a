"""Hra's options: the recipe's ``method.*`` keys, those of peft's
``HRAConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 8,
    "apply_GS": False,
    "init_weights": True,
    "bias": "none",
}
#: The options passed to peft's ``HRAConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)


@dataclass(kw_only=True)
class HraConfig(TargetModulesConfig):
    """peft's ``HRAConfig``: Householder reflections applied to the weights."""

    name: str = field(default="hra", metadata={"help": "Method name."})
    r: int = field(
        default=8,
        metadata={"help": "The rank of HRA across different layers (peft's r)."},
    )
    apply_GS: bool = field(
        default=False,
        metadata={
            "help": "Whether to apply Gram-Schmidt orthogonalization or not (peft's apply_GS)."
        },
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to initialize the weights of the HRA layers with their default "
            "initialization (peft's init_weights)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for HRA (peft's bias)."})

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
        return sum(8 * i for i, o in shapes)
