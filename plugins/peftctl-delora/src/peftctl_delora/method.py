"""Delora: peft's ``DeloraConfig`` as a peftctl method. ``peft_config()``
is all it implements; applying, saving, loading, merging and unloading come from peft."""

from __future__ import annotations

import peft
from peftctl.api import PeftMethod, peft_targets

from .config import PEFT_OPTIONS, DeloraConfig


class DeloraMethod(PeftMethod):
    """peft's ``DeloraConfig`` on the target linear layers."""

    config: DeloraConfig

    def peft_config(self) -> peft.DeloraConfig:
        cfg = self.config
        return peft.DeloraConfig(
            task_type="CAUSAL_LM",  # peft wraps the model as a causal LM (generate, save)
            target_modules=peft_targets(cfg.target_modules),
            **{name: getattr(cfg, name) for name in PEFT_OPTIONS},
        )
