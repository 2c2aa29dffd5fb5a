"""Hira's options: the recipe's ``method.*`` keys, those of peft's
``HiraConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 32,
    "hira_dropout": 0.0,
    "fan_in_fan_out": False,
}
#: The options passed to peft's ``HiraConfig`` as they are.
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
class HiraConfig(TargetModulesConfig):
    """peft's ``HiraConfig``: Hadamard high-rank updates (W * AB)."""

    name: str = field(default="hira", metadata={"help": "Method name."})
    r: int = field(default=32, metadata={"help": "HiRA intermediate r configuration (peft's r)."})
    hira_dropout: float = field(
        default=0.0,
        metadata={"help": "HiRA dropout (peft's hira_dropout)."},
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set this to True if the layer to replace stores weight like (fan_in, "
            "fan_out) (peft's fan_in_fan_out)."
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
