"""Miss's options: the recipe's ``method.*`` keys, those of peft's
``MissConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 64,
    "miss_dropout": 0.0,
    "mini_r": 1,
    "bias": "none",
}
#: The options passed to peft's ``MissConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (64, 32): 2048,
    (576, 192): 12288,
    (576, 576): 36864,
    (576, 1536): 98304,
    (1536, 576): 36864,
}
SHARED = 0
#: The contract test's options (``tests/test_contract.py``): the defaults do not fit
#: the kit's tiny model.
TEST_OPTIONS = {
    "r": 8,
}
#: With them, one adapted linear of the tiny model trains (measured on probes):
TEST_PER_LINEAR = {
    (32, 16): 128,
    (32, 32): 256,
    (32, 64): 512,
    (64, 32): 256,
}
TEST_SHARED = 0


@dataclass(kw_only=True)
class MissConfig(TargetModulesConfig):
    """peft's ``MissConfig``: matrix shard sharing: one small trained shard per weight."""

    name: str = field(default="miss", metadata={"help": "Method name."})
    r: int = field(
        default=64,
        metadata={
            "help": "The rank of MiSS corresponds to a low-rank decomposition along the "
            "in_features dimension (peft's r)."
        },
    )
    miss_dropout: float = field(
        default=0.0,
        metadata={"help": "MiSS dropout (peft's miss_dropout)."},
    )
    mini_r: int = field(
        default=1,
        metadata={
            "help": "The rank of MiSS corresponds to a low-rank decomposition along the "
            "out_features dimension (peft's mini_r)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for MiSS (peft's bias)."})

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
