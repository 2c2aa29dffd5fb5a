"""Beft's options: the recipe's ``method.*`` keys, those of peft's
``BeftConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "init_weights": True,
}
#: The options passed to peft's ``BeftConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)


@dataclass(kw_only=True)
class BeftConfig(TargetModulesConfig):
    """peft's ``BeftConfig``: trained bias offsets on the target layers."""

    name: str = field(default="beft", metadata={"help": "Method name."})
    target_modules: list[str] = field(
        default_factory=lambda: ["role:value"],
        metadata={
            "help": "The layers to adapt, as peft's target_modules: name suffixes, roles "
            "(role:query, ...) or ['all-linear']. Default: "
            "the value projections, the paper's choice."
        },
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to initialize the vectors in the BEFT layers (peft's init_weights)."
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
        return sum(1 * o for i, o in shapes)
