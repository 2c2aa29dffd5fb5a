"""IA3 through peft's ``IA3Config``."""

from __future__ import annotations

import peft

from peftctl.api import PeftMethod, peft_targets
from peftctl_ia3.config import Ia3Config


class Ia3Method(PeftMethod):
    """Infused adapter by inhibiting and amplifying inner activations."""

    config: Ia3Config

    def peft_config(self) -> peft.IA3Config:
        cfg = self.config
        config = peft.IA3Config(
            task_type="CAUSAL_LM", target_modules=peft_targets(cfg.target_modules)
        )
        # set after __post_init__: roles are resolved (and the subset checked) in apply
        config.feedforward_modules = list(cfg.feedforward_modules)
        return config
