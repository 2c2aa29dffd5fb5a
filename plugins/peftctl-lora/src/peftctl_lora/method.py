"""LoRA through peft's ``LoraConfig``."""

from __future__ import annotations

import peft

from peftctl.api import PeftMethod, peft_targets
from peftctl_lora.config import LoraConfig

_INIT = {"default": True, "gaussian": "gaussian", "pissa": "pissa", "olora": "olora"}


class LoraMethod(PeftMethod):
    """Low-rank adapters on linear layers (Hu et al., 2021)."""

    config: LoraConfig

    def peft_config(self) -> peft.LoraConfig:
        cfg = self.config
        return peft.LoraConfig(
            task_type="CAUSAL_LM",
            r=cfg.r,
            lora_alpha=cfg.alpha,
            lora_dropout=cfg.dropout,
            target_modules=peft_targets(cfg.target_modules),
            bias=cfg.bias,
            use_rslora=cfg.use_rslora,
            init_lora_weights=_INIT.get(cfg.init, cfg.init),  # PiSSA: pissa_niter_N
        )
