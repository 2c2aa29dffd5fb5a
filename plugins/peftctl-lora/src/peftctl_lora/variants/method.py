"""DoRA, LoRA+, PiSSA and LoRA-FA: LoRA through peft with one change each."""

from __future__ import annotations

import torch
from torch import nn

from peftctl.api import PeftctlError
from peftctl_lora.method import LoraMethod
from peftctl_lora.variants.config import LoraPlusConfig, PissaConfig


class DoraMethod(LoraMethod):
    """Weight-decomposed LoRA (peft ``use_dora``)."""

    def peft_config(self):
        config = super().peft_config()
        config.use_dora = True
        return config


class LoraPlusMethod(LoraMethod):
    """LoRA with a separate optimiser group for the B matrices at ``lr * lr_ratio``."""

    config: LoraPlusConfig

    def parameter_groups(self, model: nn.Module, *, lr: float, weight_decay: float) -> list[dict]:
        buckets: dict[tuple[bool, bool], list[nn.Parameter]] = {}
        for name, param in self.trainable_parameters(model):
            key = ("lora_B" in name or "lora_embedding_B" in name, param.ndim < 2)
            buckets.setdefault(key, []).append(param)
        return [
            {
                "params": params,
                "lr": lr * self.config.lr_ratio if is_b else lr,
                "weight_decay": 0.0 if is_1d else weight_decay,
            }
            for (is_b, is_1d), params in sorted(buckets.items())
        ]


class PissaMethod(LoraMethod):
    """PiSSA: the adapter starts from the top singular vectors and the base keeps the residual
    (``LoraMethod`` saves it as a plain LoRA adapter for the original base)."""

    config: PissaConfig


class LoraFaMethod(LoraMethod):
    """LoRA-FA: A stays as initialised, B trains with peft's LoRA-FA optimiser, which projects
    B's gradient so the update approximates full fine-tuning's (Zhang et al., 2023)."""

    def apply(self, model: nn.Module) -> nn.Module:
        return self._freeze_a(super().apply(model))

    def load(self, model: nn.Module, adapter_dir, *, trainable: bool = False) -> nn.Module:
        return self._freeze_a(super().load(model, adapter_dir, trainable=trainable))

    def make_optimizer(self, groups: list[dict], *, lr: float) -> torch.optim.Optimizer:
        from peft.optimizers import create_lorafa_optimizer

        model = getattr(self, "_model", None)
        if model is None:
            raise PeftctlError("lorafa: apply or load the method before making its optimiser")
        decay = max((group.get("weight_decay", 0.0) for group in groups), default=0.0)
        return create_lorafa_optimizer(model, lr=lr, weight_decay=decay)

    def _freeze_a(self, peft_model: nn.Module) -> nn.Module:
        for name, param in peft_model.named_parameters():
            if "lora_A" in name:
                param.requires_grad_(False)
        self._model = peft_model  # the optimiser pairs each B with its A by name
        return peft_model
