"""C3a: peft's ``C3AConfig`` as a peftctl method. ``peft_config()``
is all it implements; applying, saving, loading, merging and unloading come from peft."""

from __future__ import annotations

import peft
from peftctl.api import PeftMethod, peft_targets

from .config import PEFT_OPTIONS, C3aConfig


class C3aMethod(PeftMethod):
    """peft's ``C3AConfig`` on the target linear layers."""

    config: C3aConfig

    def peft_config(self) -> peft.C3AConfig:
        cfg = self.config
        return peft.C3AConfig(
            task_type="CAUSAL_LM",  # peft wraps the model as a causal LM (generate, save)
            target_modules=peft_targets(cfg.target_modules),
            **{name: getattr(cfg, name) for name in PEFT_OPTIONS},
        )
