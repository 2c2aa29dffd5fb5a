"""LayerNorm tuning through peft's ``LNTuningConfig``."""

from __future__ import annotations

import peft

from peftctl.api import PeftMethod
from peftctl_lntuning.config import LnTuningConfig


class LnTuningMethod(PeftMethod):
    """Tunes copies of the norm layers; merging swaps the tuned copies in."""

    config: LnTuningConfig

    def peft_config(self) -> peft.LNTuningConfig:
        targets = list(self.config.target_modules) or None
        return peft.LNTuningConfig(task_type="CAUSAL_LM", target_modules=targets)
