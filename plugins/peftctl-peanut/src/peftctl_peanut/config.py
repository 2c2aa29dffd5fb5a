"""Peanut's options: the recipe's ``method.*`` keys, those of peft's
``PeanutConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 32,
    "depth": 0,
    "act_fn": "relu",
    "scaling": 1.0,
    "init_weights": True,
}
#: The options passed to peft's ``PeanutConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)


@dataclass(kw_only=True)
class PeanutConfig(TargetModulesConfig):
    """peft's ``PeanutConfig``: non-linear low-rank updates computed from the weights."""

    name: str = field(default="peanut", metadata={"help": "Method name."})
    r: int = field(default=32, metadata={"help": "PEANuT rank (peft's r)."})
    depth: int = field(
        default=0,
        metadata={
            "help": "Number of hidden adapter layers per encoder/decoder side in PEANuT "
            "(peft's depth)."
        },
    )
    act_fn: str = field(
        default="relu",
        metadata={"help": "Non-linear activation applied in the PEANuT pathway (peft's act_fn)."},
    )
    scaling: float = field(
        default=1.0,
        metadata={
            "help": "A scalar multiplier applied to the PEANuT output before adding it to the"
            " frozen base layer output (peft's scaling)."
        },
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to initialize PEANuT adapter weights using the default "
            "initialization scheme: if `True`, all weights except `B` are initialized"
            " with Kaiming uniform and `B` is initialized to zero; if `False`, all "
            "weights including `B` are initialized with Kaiming uniform (peft's "
            "init_weights)."
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
        return sum(64 * o for i, o in shapes)
