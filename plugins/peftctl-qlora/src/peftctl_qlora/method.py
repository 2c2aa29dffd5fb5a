"""QLoRA: quantise the base model's decoder linears to 4 bits, then peft's LoRA on top.

``apply`` and ``load`` both quantise the fresh full-precision base they are given, so the
adapter directory is a plain peft LoRA adapter (``adapter_config.json`` +
``adapter_model.safetensors``). Merging dequantises: the result is a full-precision model
whose weights are the 4-bit base's values plus the LoRA update.
"""

from __future__ import annotations

from pathlib import Path

import bitsandbytes as bnb
from peft.tuners.lora import LoraLayer
from peftctl_lora import LoraMethod
from torch import nn

from peftctl.api import causal_lm
from peftctl_qlora.config import QLoraConfig
from peftctl_qlora.quantize import dequantized, disable_cpu_repacking, quantize_linears


class QLoraMethod(LoraMethod):
    """LoRA adapters on a 4-bit NF4 base (Dettmers et al., 2023)."""

    config: QLoraConfig

    def quantize(self, model: nn.Module) -> None:
        cfg = self.config
        quantize_linears(model, quant_type=cfg.quant_type, double_quant=cfg.double_quant)

    def apply(self, model: nn.Module) -> nn.Module:
        self.quantize(model)
        model = super().apply(model)
        disable_cpu_repacking(model)
        return model

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        self.quantize(model)
        model = super().load(model, adapter_dir, trainable=trainable)
        disable_cpu_repacking(model)
        return model

    def unload(self, model: nn.Module) -> None:
        """None: the base weights are 4-bit now, so a fresh base must be loaded instead."""
        return None

    def merge(self, model: nn.Module) -> nn.Module:
        """A full-precision model: each 4-bit layer dequantised, plus its LoRA update."""
        peft_model = getattr(model, "module", model)
        for module in peft_model.modules():
            if isinstance(module, LoraLayer):
                base = module.get_base_layer()
                if isinstance(base, bnb.nn.Linear4bit):
                    delta = sum(module.get_delta_weight(a) for a in module.active_adapters)
                    module.base_layer = dequantized(base, delta)
        plain = peft_model.unload()  # LoRA layers out, the merged nn.Linear in their place
        for name, module in list(plain.named_modules()):
            if isinstance(module, bnb.nn.Linear4bit):  # layers without LoRA
                parent, _, attr = name.rpartition(".")
                setattr(plain.get_submodule(parent), attr, dequantized(module))
        causal_lm(plain).is_loaded_in_4bit = False
        plain.requires_grad_(False)
        return plain
