"""Frod's options: the recipe's ``method.*`` keys, those of peft's
``FrodConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "projection_prng_key": 0,
    "save_projection": True,
    "frod_dropout": 0.0,
    "fan_in_fan_out": False,
    "bias": "none",
    "init_weights": True,
    "sparse_rate": 0.01,
    "regularization_alpha": 0.001,
    "progressbar": False,
    "runtime_offload_base_weight": False,
}
#: The options passed to peft's ``FrodConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (32, 16): 42,
    (32, 32): 42,
    (32, 64): 42,
    (64, 32): 104,
    (576, 192): 3893,
    (576, 576): 3893,
    (576, 1536): 3893,
    (1536, 576): 25128,
}
SHARED = 0


@dataclass(kw_only=True)
class FrodConfig(TargetModulesConfig):
    """peft's ``FrodConfig``: sparse rotations of the weight's frozen eigenbasis."""

    name: str = field(default="frod", metadata={"help": "Method name."})
    projection_prng_key: int = field(
        default=0,
        metadata={
            "help": "Random seed used when initializing the FRoD sparse COO structure (peft's"
            " projection_prng_key)."
        },
    )
    save_projection: bool = field(
        default=True,
        metadata={
            "help": "Whether to save the FRoD projection tensors in the state dict (peft's "
            "save_projection)."
        },
    )
    frod_dropout: float = field(
        default=0.0,
        metadata={"help": "Dropout in the FRoD adapter layers (peft's frod_dropout)."},
    )
    fan_in_fan_out: bool = field(
        default=False,
        metadata={
            "help": "Set this to True if the layer to replace stores weight like (fan_in, "
            "fan_out) (peft's fan_in_fan_out)."
        },
    )
    bias: str = field(default="none", metadata={"help": "Bias type for FRoD (peft's bias)."})
    init_weights: bool = field(
        default=True,
        metadata={
            "help": "Whether to initialize the weights of the FRoD layers with their default "
            "initialization (peft's init_weights)."
        },
    )
    sparse_rate: float = field(
        default=0.01,
        metadata={
            "help": "Fraction of off-diagonal entries in the sparse trainable rotation matrix"
            " (peft's sparse_rate)."
        },
    )
    regularization_alpha: float = field(
        default=0.001,
        metadata={
            "help": "Small positive value used while building the shared basis from base "
            "weights (peft's regularization_alpha)."
        },
    )
    progressbar: bool = field(
        default=False,
        metadata={
            "help": "Whether to show a progress bar while building FRoD projections (peft's "
            "progressbar)."
        },
    )
    runtime_offload_base_weight: bool = field(
        default=False,
        metadata={
            "help": "Whether to keep target base weights on CPU when the active FRoD path "
            "does not need them (peft's runtime_offload_base_weight)."
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
