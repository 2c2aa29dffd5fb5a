"""Options of the baselines without adapters (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl.methods.base import MethodConfig

if TYPE_CHECKING:
    from peftctl.facts.arch import Arch


@dataclass(kw_only=True)
class FullConfig(MethodConfig):
    """Every parameter trains; ``adapter/`` holds the whole model's weights."""

    name: str = field(default="full", metadata={"help": "Method name."})

    def trainable_estimate(self, arch: Arch) -> int | None:
        return arch.total_params()


@dataclass(kw_only=True)
class FreezeConfig(MethodConfig):
    """Only the last ``trainable_layers`` decoder layers train; the rest stays frozen."""

    name: str = field(default="freeze", metadata={"help": "Method name."})
    trainable_layers: int = field(
        default=2, metadata={"help": "How many of the last decoder layers train.", "min": 1}
    )

    def trainable_estimate(self, arch: Arch) -> int | None:
        if self.trainable_layers > arch.num_layers:
            return None
        return self.trainable_layers * arch.layer_params()
