"""LayerNorm tuning through peft's ``LNTuningConfig``."""

from __future__ import annotations

import peft

from peftctl.methods.lntuning.config import LnTuningConfig
from peftctl.methods.peft_method import PeftMethod


class LnTuningMethod(PeftMethod):
    """Tunes copies of the norm layers; merging swaps the tuned copies in."""

    config: LnTuningConfig

    def peft_config(self) -> peft.LNTuningConfig:
        targets = list(self.config.target_modules) or None
        return peft.LNTuningConfig(task_type="CAUSAL_LM", target_modules=targets)
