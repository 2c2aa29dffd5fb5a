"""OFT through peft's ``OFTConfig`` with a fixed block size (``r`` follows from it)."""

from __future__ import annotations

import peft

from peftctl.methods.oft.config import OftConfig
from peftctl.methods.peft_method import PeftMethod


class OftMethod(PeftMethod):
    """Orthogonal fine-tuning."""

    config_class = OftConfig
    config: OftConfig

    def peft_config(self) -> peft.OFTConfig:
        cfg = self.config
        targets = cfg.target_modules
        return peft.OFTConfig(
            task_type="CAUSAL_LM",
            r=0,
            oft_block_size=cfg.block_size,
            target_modules="all-linear" if targets == ["all-linear"] else list(targets),
            module_dropout=cfg.dropout,
            coft=cfg.coft,
            block_share=cfg.block_share,
        )
