"""Delora's options: the recipe's ``method.*`` keys, those of peft's
``DeloraConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 8,
    "delora_lambda": 15,
    "module_dropout": 0.0,
    "init_weights": True,
}
#: The options passed to peft's ``DeloraConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)


@dataclass(kw_only=True)
class DeloraConfig(TargetModulesConfig):
    """peft's ``DeloraConfig``: LoRA with decoupled, bounded update norms."""

    name: str = field(default="delora", metadata={"help": "Method name."})
    r: int = field(default=8, metadata={"help": "DeLoRA rank (peft's r)."})
    delora_lambda: int = field(
        default=15,
        metadata={
            "help": "The initial value of the boundary of the DeLoRA adapter (peft's "
            "delora_lambda)."
        },
    )
    module_dropout: float = field(
        default=0.0,
        metadata={
            "help": "The dropout probability for disabling DeLoRA modules during training "
            "(peft's module_dropout)."
        },
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to perform initialization of adapter weights (peft's init_weights)."
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
        return sum(1 + 8 * i + 8 * o for i, o in shapes)
