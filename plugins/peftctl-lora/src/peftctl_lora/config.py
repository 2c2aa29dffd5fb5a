"""LoRA's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl.api import TargetModulesConfig

if TYPE_CHECKING:
    from peftctl.api import Arch


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
            "help": "Initialisation of A and B (peft's init_lora_weights).",
            "choices": ("default", "gaussian", "pissa", "olora"),
        },
    )

    def validate(self) -> None:
        super().validate()

    def trainable_estimate(self, arch: Arch) -> int | None:
        shapes = arch.targets(self.target_modules)
        if shapes is None:
            return None
        return sum(self.r * (i + o) for i, o in shapes)  # A: r x in, B: out x r
