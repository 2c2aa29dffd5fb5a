"""Road's options: the recipe's ``method.*`` keys, those of peft's
``RoadConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "group_size": 64,
    "init_weights": True,
}
#: The options passed to peft's ``RoadConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (32, 64): 64,
    (576, 192): 192,
    (576, 576): 576,
    (576, 1536): 1536,
    (1536, 576): 576,
}
SHARED = 0
#: The contract test's options (``tests/test_contract.py``): the defaults do not fit
#: the kit's tiny model.
TEST_OPTIONS = {
    "group_size": 8,
}
#: With them, one adapted linear of the tiny model trains (measured on probes):
TEST_PER_LINEAR = {
    (32, 16): 16,
    (32, 32): 32,
    (32, 64): 64,
    (64, 32): 32,
}
TEST_SHARED = 0


@dataclass(kw_only=True)
class RoadConfig(TargetModulesConfig):
    """peft's ``RoadConfig``: trained 2-d rotations of the outputs."""

    name: str = field(default="road", metadata={"help": "Method name."})
    group_size: int = field(
        default=64,
        metadata={
            "help": "Group size defines how elements are grouped together into 2D vectors for"
            " rotation (peft's group_size)."
        },
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to initialize the weights of the RoAd layers with their default "
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
        if all(getattr(self, k) == v for k, v in {**MEASURED_WITH, **TEST_OPTIONS}.items()):
            if any(shape not in TEST_PER_LINEAR for shape in shapes):
                return None
            return TEST_SHARED + sum(TEST_PER_LINEAR[shape] for shape in shapes)
        if any(getattr(self, name) != value for name, value in MEASURED_WITH.items()):
            return None  # measured with those options only
        if any(shape not in PER_LINEAR for shape in shapes):
            return None
        return SHARED + sum(PER_LINEAR[shape] for shape in shapes)
