"""Loha's options: the recipe's ``method.*`` keys, those of peft's
``LoHaConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 8,
    "alpha": 8,
    "rank_dropout": 0.0,
    "module_dropout": 0.0,
    "use_effective_conv2d": False,
    "init_weights": True,
}
#: The options passed to peft's ``LoHaConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)


@dataclass(kw_only=True)
class LohaConfig(TargetModulesConfig):
    """peft's ``LoHaConfig``: low-rank Hadamard product updates."""

    name: str = field(default="loha", metadata={"help": "Method name."})
    r: int = field(default=8, metadata={"help": "LoHa rank (peft's r)."})
    alpha: int = field(default=8, metadata={"help": "LoHa alpha (peft's alpha)."})
    rank_dropout: float = field(
        default=0.0,
        metadata={
            "help": "The dropout probability for rank dimension during training (peft's "
            "rank_dropout)."
        },
    )
    module_dropout: float = field(
        default=0.0,
        metadata={
            "help": "The dropout probability for disabling LoHa modules during training "
            "(peft's module_dropout)."
        },
    )
    use_effective_conv2d: bool = field(
        default=False,
        metadata={
            "help": "Use parameter effective decomposition for Conv2d (and Conv1d) with ksize"
            ' > 1 ("Proposition 3" from FedPara paper) (peft\'s use_effective_conv2d).'
        },
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to initialize the weights of the LoHa layers with their default "
            "initialization (peft's init_weights)."
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
        return sum(16 * i + 16 * o for i, o in shapes)
