"""Options of the baselines without adapters (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.methods.base import MethodConfig


@dataclass(kw_only=True)
class FullConfig(MethodConfig):
    """Every parameter trains; ``adapter/`` holds the whole model's weights."""

    name: str = field(default="full", metadata={"help": "Method name."})


@dataclass(kw_only=True)
class FreezeConfig(MethodConfig):
    """Only the last ``trainable_layers`` decoder layers train; the rest stays frozen."""

    name: str = field(default="freeze", metadata={"help": "Method name."})
    trainable_layers: int = field(
        default=2, metadata={"help": "How many of the last decoder layers train.", "min": 1}
    )
