"""LayerNorm tuning's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl.api import MethodConfig, PeftctlError, is_all_linear

if TYPE_CHECKING:
    from peftctl.api import Arch


@dataclass(kw_only=True)
class LnTuningConfig(MethodConfig):
    """Train only the normalisation layers (Zhao et al., 2024)."""

    name: str = field(default="lntuning", metadata={"help": "Method name."})
    target_modules: list[str] = field(
        default_factory=list,
        metadata={"help": "Norm module name suffixes; empty = peft's default for the model."},
    )

    def validate(self) -> None:
        if self.target_modules and is_all_linear(self.target_modules):
            raise PeftctlError(
                "method.target_modules=[all-linear] names linear layers; LN tuning trains norm "
                "layers: name them (e.g. [input_layernorm, post_attention_layernorm]) or leave "
                "it empty for every norm"
            )

    def trainable_estimate(self, arch: Arch) -> int | None:
        sizes = arch.norm_sizes()  # peft's Llama default: every norm
        names = list(dict.fromkeys(self.target_modules)) or list(sizes)
        return None if any(n not in sizes for n in names) else sum(sizes[n] for n in names)
