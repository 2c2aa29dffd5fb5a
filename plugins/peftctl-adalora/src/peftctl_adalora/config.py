"""AdaLoRA's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl_lora import LoraConfig

from peftctl.api import PeftctlError

if TYPE_CHECKING:
    from peftctl.api import Arch


@dataclass(kw_only=True)
class AdaLoraConfig(LoraConfig):
    """LoRA in SVD form whose rank budget is reallocated during training (Zhang et al., 2023).

    ``r`` is the average final rank; every layer starts at ``init_r``.
    """

    name: str = field(default="adalora", metadata={"help": "Method name."})
    init_r: int = field(default=12, metadata={"help": "Starting rank of every layer.", "min": 1})
    total_step: int = field(
        default=1000,
        metadata={
            "help": "Optimiser steps of the run (the budget schedule ends here); set it to "
            "the run's step count.",
            "min": 1,
        },
    )
    tinit: int = field(
        default=0, metadata={"help": "Warm-up steps before ranks are pruned.", "min": 0}
    )
    tfinal: int = field(
        default=0, metadata={"help": "Final steps with the rank budget fixed.", "min": 0}
    )
    delta_t: int = field(
        default=1, metadata={"help": "Steps between two budget reallocations.", "min": 1}
    )
    orth_reg_weight: float = field(
        default=0.5, metadata={"help": "Weight of the orthogonality regulariser.", "min": 0}
    )

    def validate(self) -> None:
        super().validate()
        if self.tinit + self.tfinal >= self.total_step:
            raise PeftctlError(
                f"method.tinit + method.tfinal ({self.tinit + self.tfinal}) must be below "
                f"method.total_step ({self.total_step}); lower them or raise total_step"
            )
        if self.init_r < self.r:
            raise PeftctlError(f"method.init_r ({self.init_r}) must be >= method.r ({self.r})")

    def trainable_estimate(self, arch: Arch) -> int | None:
        shapes = arch.targets(self.target_modules)
        if shapes is None:
            return None
        # P (init_r x in), Q (out x init_r) and the singular values (init_r)
        return sum(self.init_r * (i + o + 1) for i, o in shapes)
