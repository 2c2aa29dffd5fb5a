"""LoRA's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl.api import PeftctlError, TargetModulesConfig

if TYPE_CHECKING:
    from peftctl.api import Arch


#: peft's ``init_lora_weights`` values that need nothing but the model (EVA, CorDA, LoftQ need
#: calibration data or a quantised base: docs/methods.md says why they are not offered).
INITS = ("default", "gaussian", "orthogonal", "pissa", "olora")


def changes_the_base(init: str) -> bool:
    """Whether this initialisation moves part of each base weight into the adapter."""
    return init in ("pissa", "olora") or init.startswith("pissa_niter_")


@dataclass(kw_only=True)
class LoraConfig(TargetModulesConfig):
    """Low-rank adapters ``W + (alpha / r) * B @ A`` on the target linear layers."""

    name: str = field(default="lora", metadata={"help": "Method name."})
    r: int = field(default=8, metadata={"help": "Rank of the update matrices.", "min": 1})
    alpha: float = field(
        default=16.0, metadata={"help": "Scaling numerator: the update is scaled by alpha / r."}
    )
    dropout: float = field(
        default=0.0,
        metadata={"help": "Dropout on the adapter input (0 = none, fastest).", "min": 0, "max": 1},
    )
    bias: str = field(
        default="none",
        metadata={"help": "Which biases train.", "choices": ("none", "all", "lora_only")},
    )
    use_rslora: bool = field(
        default=False, metadata={"help": "Scale by alpha / sqrt(r) (rank-stabilised LoRA)."}
    )
    init: str = field(
        default="default",
        metadata={
            "help": "Initialisation of A and B (peft's init_lora_weights): default (A random, "
            "B zero), gaussian, orthogonal (A and B orthogonal, B A = 0; even r), pissa "
            "(principal singular vectors), olora (QR of the weight).",
            "choices": INITS,
        },
    )

    def validate(self) -> None:
        super().validate()
        if self.init == "orthogonal" and self.r % 2:
            raise PeftctlError(
                f"method.init=orthogonal needs an even method.r, not {self.r}; use r={self.r + 1}"
            )

    def trainable_estimate(self, arch: Arch) -> int | None:
        shapes = arch.targets(self.target_modules)
        if shapes is None:
            return None
        return sum(self.r * (i + o) for i, o in shapes)  # A: r x in, B: out x r
