"""Beft: peft's ``BeftConfig`` as a peftctl method. ``peft_config()``
is all it implements; applying, saving, loading, merging and unloading come from peft."""

from __future__ import annotations

import peft
from peftctl.api import PeftctlError, PeftMethod, peft_targets
from torch import nn

from .config import PEFT_OPTIONS, BeftConfig


class BeftMethod(PeftMethod):
    """peft's ``BeftConfig`` on the target linear layers."""

    config: BeftConfig

    def peft_config(self) -> peft.BeftConfig:
        cfg = self.config
        return peft.BeftConfig(
            task_type="CAUSAL_LM",  # peft wraps the model as a causal LM (generate, save)
            target_modules=peft_targets(cfg.target_modules),
            **{name: getattr(cfg, name) for name in PEFT_OPTIONS},
        )

    def merge(self, model: nn.Module) -> nn.Module:
        """Refused (the spec says mergeable=False): peft's BeftConfig adapter does not
        fold into the base weights of every model (`peftctl merge` refuses before loading)."""
        raise PeftctlError(f"{self.config.name} does not merge into the base weights")
