"""LoRA through peft's ``LoraConfig``."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

import peft
from torch import nn

from peftctl.api import PeftMethod, peft_targets, write_dir_atomically
from peftctl_lora.config import LoraConfig, changes_the_base

_INIT = {"default": True}


class LoraMethod(PeftMethod):
    """Low-rank adapters on linear layers (Hu et al., 2021).

    Initialisations that move part of each weight into the adapter (PiSSA, OLoRA) change the
    base weights at ``apply``; ``save`` then converts the adapter into a plain LoRA adapter
    (rank ``2r``) for the *original* base, so ``adapter/`` loads onto a fresh model, merges and
    exports like any LoRA adapter.
    """

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

    def apply(self, model: nn.Module) -> nn.Module:
        peft_model = super().apply(model)
        if changes_the_base(self.config.init):
            self._keep_initial_adapter(peft_model)
        return peft_model

    def save(self, model: nn.Module, adapter_dir: Path) -> None:
        initial = getattr(self, "_initial_dir", None)
        if initial is None:  # loaded adapter: already a plain LoRA adapter for the original base
            return super().save(model, adapter_dir)
        peft_model = getattr(model, "module", model)
        write_dir_atomically(
            Path(adapter_dir),
            lambda tmp: peft_model.save_pretrained(
                str(tmp),
                safe_serialization=True,
                path_initial_model_for_weight_conversion=str(initial),
            ),
        )

    def _keep_initial_adapter(self, peft_model: nn.Module) -> None:
        """The adapter as initialised, for the conversion at ``save`` (peft's recipe)."""
        self._initial_dir = Path(tempfile.mkdtemp(prefix="peftctl-lora-init-"))
        weakref.finalize(self, shutil.rmtree, self._initial_dir, True)
        config = peft_model.peft_config["default"]
        config.init_lora_weights = True  # the initial copy must not re-run the decomposition
        peft_model.save_pretrained(str(self._initial_dir), safe_serialization=True)
        config.init_lora_weights = _INIT.get(self.config.init, self.config.init)
