"""Waveft's options: the recipe's ``method.*`` keys, those of peft's
``WaveFTConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "n_frequency": 2592,
    "scaling": 25.0,
    "wavelet_family": "db1",
    "use_idwt": True,
    "random_loc_seed": 777,
    "fan_in_fan_out": False,
    "bias": "none",
    "proportional_parameters": False,
    "init_weights": True,
}
#: The options passed to peft's ``WaveFTConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (576, 192): 2592,
    (576, 576): 2592,
    (576, 1536): 2592,
    (1536, 576): 2592,
}
SHARED = 0
#: The contract test's options (``tests/test_contract.py``): the defaults do not fit
#: the kit's tiny model.
TEST_OPTIONS = {
    "n_frequency": 64,
}
#: With them, one adapted linear of the tiny model trains (measured on probes):
TEST_PER_LINEAR = {
    (32, 16): 64,
    (32, 32): 64,
    (32, 64): 64,
    (64, 32): 64,
}
TEST_SHARED = 0


@dataclass(kw_only=True)
class WaveftConfig(TargetModulesConfig):
    """peft's ``WaveFTConfig``: a few trained wavelet coefficients per weight."""

    name: str = field(default="waveft", metadata={"help": "Method name."})
    n_frequency: int = field(
        default=2592,
        metadata={
            "help": "Number of learnable wavelet coefficients for the Discrete Wavelet "
            "Transform (DWT) (peft's n_frequency)."
        },
    )
    scaling: float = field(
        default=25.0,
        metadata={
            "help": "The scaling factor applied to the reconstructed delta W matrix (peft's "
            "scaling)."
        },
    )
    wavelet_family: str = field(
        default="db1",
        metadata={
            "help": "The wavelet family (e.g., 'db1', 'sym2', 'coif1') to use for the DWT and"
            " Inverse DWT (IDWT) (peft's wavelet_family)."
        },
    )
    use_idwt: bool = field(
        default=True,
        metadata={"help": "Set to False for efficient adaptation (peft's use_idwt)."},
    )
    random_loc_seed: int = field(
        default=777,
        metadata={
            "help": "Seed for determining the random locations of the 'n_frequency' learnable"
            " wavelet coefficients within the full wavelet coefficient matrix (peft's"
            " random_loc_seed)."
        },
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set to True if the weights of the layer to be replaced are stored in "
            "(fan_in, fan_out) format (peft's fan_in_fan_out)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for WaveFT (peft's bias)."})
    proportional_parameters: bool = field(
        default=False,
        metadata={
            "help": "If True, 'n_frequency' is allocated proportionally to each layer's "
            "input_dim * output_dim (peft's proportional_parameters)."
        },
    )
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Initialization strategy for the learnable wavelet coefficients "
            "(spectrum) (peft's init_weights)."
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
