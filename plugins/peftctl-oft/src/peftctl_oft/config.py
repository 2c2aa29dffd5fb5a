"""OFT's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl.api import TargetModulesConfig

if TYPE_CHECKING:
    from peftctl.api import Arch


@dataclass(kw_only=True)
class OftConfig(TargetModulesConfig):
    """Block-diagonal orthogonal rotations of the target weights (Qiu et al., 2023)."""

    name: str = field(default="oft", metadata={"help": "Method name."})
    block_size: int = field(
        default=32,
        metadata={"help": "Size of each orthogonal block; must divide the in-features.", "min": 1},
    )
    dropout: float = field(
        default=0.0, metadata={"help": "Multiplicative dropout on blocks.", "min": 0, "max": 1}
    )
    coft: bool = field(
        default=False, metadata={"help": "Constrained OFT (keep rotations near identity)."}
    )
    block_share: bool = field(
        default=False, metadata={"help": "Share one block's parameters across the blocks."}
    )

    def validate(self) -> None:
        super().validate()

    def trainable_estimate(self, arch: Arch) -> int | None:
        shapes = arch.targets(self.target_modules)
        size = self.block_size
        if shapes is None or any(i % size for i, _ in shapes):
            return None
        per_block = size * (size - 1) // 2  # a skew-symmetric block: its upper triangle
        blocks = sum(1 if self.block_share else i // size for i, _ in shapes)
        return blocks * per_block
