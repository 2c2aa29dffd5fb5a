"""Frod: peft's ``FrodConfig`` as a peftctl method. ``peft_config()``
is all it implements; applying, saving, loading, merging and unloading come from peft."""

from __future__ import annotations

import peft
from peftctl.api import PeftMethod, peft_targets

from .config import PEFT_OPTIONS, FrodConfig


class FrodMethod(PeftMethod):
    """peft's ``FrodConfig`` on the target linear layers."""

    config: FrodConfig

    def peft_config(self) -> peft.FrodConfig:
        cfg = self.config
        return peft.FrodConfig(
            task_type="CAUSAL_LM",  # peft wraps the model as a causal LM (generate, save)
            target_modules=peft_targets(cfg.target_modules),
            **{name: getattr(cfg, name) for name in PEFT_OPTIONS},
        )
