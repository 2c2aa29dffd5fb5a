"""C3a's options: the recipe's ``method.*`` keys, those of peft's
``C3AConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "block_size": 64,
    "bias": "none",
}
#: The options passed to peft's ``C3AConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (576, 192): 1728,
    (576, 576): 5184,
    (576, 1536): 13824,
    (1536, 576): 13824,
}
SHARED = 0
#: The contract test's options (``tests/test_contract.py``): the defaults do not fit
#: the kit's tiny model.
TEST_OPTIONS = {
    "block_size": 16,
}
#: With them, one adapted linear of the tiny model trains (measured on probes):
TEST_PER_LINEAR = {
    (32, 16): 32,
    (32, 32): 64,
    (32, 64): 128,
    (64, 32): 128,
}
TEST_SHARED = 0


@dataclass(kw_only=True)
class C3aConfig(TargetModulesConfig):
    """peft's ``C3AConfig``: circular-convolution adapters."""

    name: str = field(default="c3a", metadata={"help": "Method name."})
    block_size: int = field(
        default=64,
        metadata={
            "help": "block size for C3A, must be divisible by both the input size and the "
            "output size of the target layer (peft's block_size)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for C3A (peft's bias)."})

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
