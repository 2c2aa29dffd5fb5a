"""Osf: peft's ``OSFConfig`` as a peftctl method. ``peft_config()``
is all it implements; applying, saving, loading, merging and unloading come from peft."""

from __future__ import annotations

import peft
from peftctl.api import PeftMethod, peft_targets

from .config import PEFT_OPTIONS, OsfConfig


class OsfMethod(PeftMethod):
    """peft's ``OSFConfig`` on the target linear layers."""

    config: OsfConfig

    def peft_config(self) -> peft.OSFConfig:
        cfg = self.config
        return peft.OSFConfig(
            task_type="CAUSAL_LM",  # peft wraps the model as a causal LM (generate, save)
            target_modules=peft_targets(cfg.target_modules),
            **{name: getattr(cfg, name) for name in PEFT_OPTIONS},
        )
