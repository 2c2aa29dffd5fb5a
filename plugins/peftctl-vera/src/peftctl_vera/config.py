"""VeRA's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl.api import TargetModulesConfig

if TYPE_CHECKING:
    from peftctl.api import Arch


@dataclass(kw_only=True)
class VeraConfig(TargetModulesConfig):
    """Frozen random low-rank matrices shared by all layers, with trained scaling vectors
    (Kopiczko et al., 2024)."""

    name: str = field(default="vera", metadata={"help": "Method name."})
    r: int = field(default=256, metadata={"help": "Rank of the shared random matrices.", "min": 1})
    dropout: float = field(
        default=0.0, metadata={"help": "Dropout on the adapter input.", "min": 0, "max": 1}
    )
    d_initial: float = field(
        default=0.1, metadata={"help": "Initial value of the d scaling vector.", "min": 0}
    )
    projection_seed: int = field(
        default=0, metadata={"help": "Seed of the shared random projections.", "min": 0}
    )

    def validate(self) -> None:
        super().validate()

    def trainable_estimate(self, arch: Arch) -> int | None:
        shapes = arch.targets(self.target_modules)  # the random A, B are frozen: d (r), b (out)
        return None if shapes is None else sum(self.r + o for _, o in shapes)
