"""OFT through peft's ``OFTConfig`` with a fixed block size (``r`` follows from it)."""

from __future__ import annotations

import peft

from peftctl.api import PeftMethod, peft_targets
from peftctl_oft.config import OftConfig


class OftMethod(PeftMethod):
    """Orthogonal fine-tuning."""

    config: OftConfig

    def peft_config(self) -> peft.OFTConfig:
        cfg = self.config
        return peft.OFTConfig(
            task_type="CAUSAL_LM",
            r=0,
            oft_block_size=cfg.block_size,
            target_modules=peft_targets(cfg.target_modules),
            module_dropout=cfg.dropout,
            coft=cfg.coft,
            block_share=cfg.block_share,
        )
