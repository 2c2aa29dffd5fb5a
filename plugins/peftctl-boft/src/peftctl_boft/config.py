"""Boft's options: the recipe's ``method.*`` keys, those of peft's
``BOFTConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "boft_block_size": 16,
    "boft_block_num": 0,
    "boft_n_butterfly_factor": 1,
    "boft_dropout": 0.0,
    "fan_in_fan_out": False,
    "bias": "none",
    "init_weights": True,
}
#: The options passed to peft's ``BOFTConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (32, 16): 528,
    (32, 32): 544,
    (32, 64): 576,
    (64, 32): 1056,
    (576, 192): 9408,
    (576, 576): 9792,
    (576, 1536): 10752,
    (1536, 576): 25152,
}
SHARED = 0


@dataclass(kw_only=True)
class BoftConfig(TargetModulesConfig):
    """peft's ``BOFTConfig``: butterfly-factorised orthogonal weight rotations."""

    name: str = field(default="boft", metadata={"help": "Method name."})
    boft_block_size: int = field(
        default=16,
        metadata={"help": "BOFT block size across different layers (peft's boft_block_size)."},
    )
    boft_block_num: int = field(
        default=0,
        metadata={"help": "Number of BOFT blocks per injected layer (peft's boft_block_num)."},
    )
    boft_n_butterfly_factor: int = field(
        default=1,
        metadata={"help": "Number of butterfly factors (peft's boft_n_butterfly_factor)."},
    )
    boft_dropout: float = field(
        default=0.0,
        metadata={
            "help": "BOFT multiplicative dropout, randomly setting blocks of OFT to be "
            "identity matrix, similar to the dropout layer in LoRA (peft's "
            "boft_dropout)."
        },
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set this to True if the layer to replace stores weight like (fan_in, "
            "fan_out) (peft's fan_in_fan_out)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for BOFT (peft's bias)."})
    init_weights: bool = field(
        default=True,
        metadata={
            "help": '("Whether to initialize the weights of the BOFT layers with their '
            "default initialization (peft's init_weights)."
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
        if any(shape not in PER_LINEAR for shape in shapes):
            return None
        return SHARED + sum(PER_LINEAR[shape] for shape in shapes)
