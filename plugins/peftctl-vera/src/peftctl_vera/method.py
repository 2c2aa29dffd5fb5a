"""VeRA through peft's ``VeraConfig`` (the shared projections are saved with the adapter)."""

from __future__ import annotations

import peft

from peftctl.api import PeftMethod, peft_targets
from peftctl_vera.config import VeraConfig


class VeraMethod(PeftMethod):
    """Vector-based random matrix adaptation."""

    config: VeraConfig

    def peft_config(self) -> peft.VeraConfig:
        cfg = self.config
        return peft.VeraConfig(
            task_type="CAUSAL_LM",
            r=cfg.r,
            target_modules=peft_targets(cfg.target_modules),
            vera_dropout=cfg.dropout,
            d_initial=cfg.d_initial,
            projection_prng_key=cfg.projection_seed,
            save_projection=True,
        )
