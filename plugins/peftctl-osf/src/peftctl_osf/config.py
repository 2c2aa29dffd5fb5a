"""Osf's options: the recipe's ``method.*`` keys, those of peft's
``OSFConfig`` (peft 0.22.0) with its defaults. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, TargetModulesConfig

#: The options ``trainable_estimate`` was measured with (by ``peftctl new-method``).
MEASURED_WITH = {
    "effective_rank": 0.5,
}
#: The options passed to peft's ``OSFConfig`` as they are.
PEFT_OPTIONS = tuple(MEASURED_WITH)
#: Trainable parameters of one adapted linear, by (in_features, out_features), and
#: those every adapted linear shares: measured on probes by ``peftctl new-method``.
PER_LINEAR = {
    (32, 16): 392,
    (32, 32): 1040,
    (32, 64): 1552,
    (64, 32): 1552,
    (576, 192): 73824,
    (576, 576): 332064,
    (576, 1536): 608544,
    (1536, 576): 608544,
}
SHARED = 0


@dataclass(kw_only=True)
class OsfConfig(TargetModulesConfig):
    """peft's ``OSFConfig``: orthogonal subspace fine-tuning of the minor singular part."""

    name: str = field(default="osf", metadata={"help": "Method name."})
    effective_rank: float = field(
        default=0.5,
        metadata={"help": 'Preserved SVD rank ("high" subspace) (peft\'s effective_rank).'},
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
