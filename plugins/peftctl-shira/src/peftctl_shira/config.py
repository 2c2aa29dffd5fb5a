"""Shira's options: the recipe's ``method.*`` keys, those of peft's
``ShiraConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 32,
    "random_seed": 0,
    "fan_in_fan_out": False,
    "init_weights": True,
}
#: The options passed to peft's ``ShiraConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (576, 192): 24576,
    (576, 576): 36864,
    (576, 1536): 67584,
    (1536, 576): 67584,
}
SHARED = 0
#: The contract test's options (``tests/test_contract.py``): the defaults do not fit
#: the kit's tiny model.
TEST_OPTIONS = {
    "r": 4,
}
#: With them, one adapted linear of the tiny model trains (measured on probes):
TEST_PER_LINEAR = {
    (32, 16): 192,
    (32, 32): 256,
    (32, 64): 384,
    (64, 32): 384,
}
TEST_SHARED = 0


@dataclass(kw_only=True)
class ShiraConfig(TargetModulesConfig):
    """peft's ``ShiraConfig``: a sparse high-rank set of trained weight entries."""

    name: str = field(default="shira", metadata={"help": "Method name."})
    r: int = field(
        default=32,
        metadata={
            "help": "For a given target module, the number of SHiRA parameters is computed as"
            " r(m+n), where the original tensor dimensions are m x n (peft's r)."
        },
    )
    random_seed: int = field(
        default=0,
        metadata={
            "help": "random seed for the torch generator for random_mask (peft's random_seed)."
        },
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set this to True if the layer to replace stores weight like (fan_in, "
            "fan_out) (peft's fan_in_fan_out)."
        },
    )
    init_weights: bool = field(
        default=True,
        metadata={"help": "Initialize SHiRA weight to have zero values (peft's init_weights)."},
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
        if any(shape not in PER_LINEAR for shape in shapes):
            return None
        return SHARED + sum(PER_LINEAR[shape] for shape in shapes)
