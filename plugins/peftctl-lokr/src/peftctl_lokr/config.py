"""Lokr's options: the recipe's ``method.*`` keys, those of peft's
``LoKrConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "r": 8,
    "alpha": 8,
    "rank_dropout": 0.0,
    "module_dropout": 0.0,
    "use_effective_conv2d": False,
    "decompose_both": False,
    "decompose_factor": -1,
    "rank_dropout_scale": False,
}
#: The options passed to peft's ``LoKrConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (32, 16): 48,
    (32, 32): 80,
    (32, 64): 96,
    (64, 32): 96,
    (576, 192): 608,
    (576, 576): 960,
    (576, 1536): 1344,
    (1536, 576): 1344,
}
SHARED = 0


@dataclass(kw_only=True)
class LokrConfig(TargetModulesConfig):
    """peft's ``LoKrConfig``: low-rank Kronecker product updates."""

    name: str = field(default="lokr", metadata={"help": "Method name."})
    r: int = field(default=8, metadata={"help": "LoKr rank (peft's r)."})
    alpha: int = field(default=8, metadata={"help": "LoKr alpha (peft's alpha)."})
    rank_dropout: float = field(
        default=0.0,
        metadata={
            "help": "The dropout probability for rank dimension during training (peft's "
            "rank_dropout)."
        },
    )
    module_dropout: float = field(
        default=0.0,
        metadata={
            "help": "The dropout probability for disabling LoKr modules during training "
            "(peft's module_dropout)."
        },
    )
    use_effective_conv2d: bool = field(
        default=False,
        metadata={
            "help": "Use parameter effective decomposition for Conv2d (and Conv1d) with ksize"
            ' > 1 ("Proposition 3" from FedPara paper) (peft\'s use_effective_conv2d).'
        },
    )
    decompose_both: bool = field(
        default=False,
        metadata={
            "help": "Perform rank decomposition of left kronecker product matrix (peft's "
            "decompose_both)."
        },
    )
    decompose_factor: int = field(
        default=-1,
        metadata={"help": "Kronecker product decomposition factor (peft's decompose_factor)."},
    )
    rank_dropout_scale: bool = field(
        default=False,
        metadata={"help": "Rank dropout scale (peft's rank_dropout_scale)."},
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
