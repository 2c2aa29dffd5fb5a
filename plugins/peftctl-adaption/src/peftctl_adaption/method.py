"""Llama-Adapter through peft's ``AdaptionPromptConfig``."""

from __future__ import annotations

import peft
from peftctl.api import PeftctlError, PeftMethod
from torch import nn

from peftctl_adaption.config import LlamaAdapterConfig


class LlamaAdapterMethod(PeftMethod):
    """Zero-initialised attention over learned prompts (Zhang et al., 2023)."""

    config: LlamaAdapterConfig

    def peft_config(self) -> peft.AdaptionPromptConfig:
        return peft.AdaptionPromptConfig(
            task_type="CAUSAL_LM",
            adapter_len=self.config.adapter_len,
            adapter_layers=self.config.adapter_layers,
        )

    def apply(self, model: nn.Module) -> nn.Module:
        self._check(model)
        return super().apply(model)

    def load(self, model: nn.Module, adapter_dir, *, trainable: bool = False) -> nn.Module:
        self._check(model)
        return super().load(model, adapter_dir, trainable=trainable)

    def _check(self, model: nn.Module) -> None:
        config = model.config
        layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer", 0)
        self.config.check_model(config.model_type, layers)

    def merge(self, model: nn.Module) -> nn.Module:
        raise PeftctlError(
            "llama_adapter cannot be merged: its prompts are attended to, not folded into "
            "weights; serve the adapter with its base (peftctl serve RUN)"
        )

    def unload(self, model: nn.Module) -> nn.Module | None:
        return None  # peft's adaption prompt has no unload: the base is rebuilt when needed
