"""LayerNorm tuning's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl.api import MethodConfig, PeftctlError, is_all_linear, resolve_targets

if TYPE_CHECKING:
    from peftctl.api import Arch


@dataclass(kw_only=True)
class LnTuningConfig(MethodConfig):
    """Train only the normalisation layers (Zhao et al., 2024)."""

    name: str = field(default="lntuning", metadata={"help": "Method name."})
    target_modules: list[str] = field(
        default_factory=lambda: ["role:norms"],
        metadata={"help": "Norm modules: name suffixes, or role:norms (every norm)."},
    )

    def validate(self) -> None:
        if self.target_modules and is_all_linear(self.target_modules):
            raise PeftctlError(
                "method.target_modules=[all-linear] names linear layers; LN tuning trains norm "
                "layers: name them (e.g. [input_layernorm, post_attention_layernorm]) or use "
                "role:norms for every norm"
            )

    def trainable_estimate(self, arch: Arch) -> int | None:
        sizes = arch.norm_sizes()
        names = resolve_targets(self.target_modules, arch.model_type)
        if isinstance(names, str) or not names or any(n not in sizes for n in names):
            return None
        return sum(sizes[n] for n in dict.fromkeys(names))
