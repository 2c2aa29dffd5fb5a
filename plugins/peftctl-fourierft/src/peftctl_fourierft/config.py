"""Fourierft's options: the recipe's ``method.*`` keys, those of peft's
``FourierFTConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "n_frequency": 1000,
    "scaling": 150.0,
    "fan_in_fan_out": False,
    "bias": "none",
    "init_weights": False,
}
#: The options passed to peft's ``FourierFTConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (32, 32): 1000,
    (32, 64): 1000,
    (64, 32): 1000,
    (576, 192): 1000,
    (576, 576): 1000,
    (576, 1536): 1000,
    (1536, 576): 1000,
}
SHARED = 0
#: The contract test's options (``tests/test_contract.py``): the defaults do not fit
#: the kit's tiny model.
TEST_OPTIONS = {
    "n_frequency": 100,
}
#: With them, one adapted linear of the tiny model trains (measured on probes):
TEST_PER_LINEAR = {
    (32, 16): 100,
    (32, 32): 100,
    (32, 64): 100,
    (64, 32): 100,
}
TEST_SHARED = 0


@dataclass(kw_only=True)
class FourierftConfig(TargetModulesConfig):
    """peft's ``FourierFTConfig``: a few trained spectral coefficients per weight."""

    name: str = field(default="fourierft", metadata={"help": "Method name."})
    n_frequency: int = field(
        default=1000,
        metadata={
            "help": "Num of learnable frequencies for the Discrete Fourier Transform (peft's "
            "n_frequency)."
        },
    )
    scaling: float = field(
        default=150.0,
        metadata={"help": "The scaling value for the delta W matrix (peft's scaling)."},
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set this to True if the layer to replace stores weight like (fan_in, "
            "fan_out) (peft's fan_in_fan_out)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for FourierFT (peft's bias)."})
    init_weights: bool = field(
        default=False,
        metadata={"help": "The initialization of the Fourier weights (peft's init_weights)."},
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
