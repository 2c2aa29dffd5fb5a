"""LayerNorm tuning's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.methods.base import MethodConfig


@dataclass(kw_only=True)
class LnTuningConfig(MethodConfig):
    """Train only the normalisation layers (Zhao et al., 2024)."""

    name: str = field(default="lntuning", metadata={"help": "Method name."})
    target_modules: list[str] = field(
        default_factory=list,
        metadata={"help": "Norm module name suffixes; empty = peft's default for the model."},
    )
