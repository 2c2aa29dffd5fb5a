"""DoRA, LoRA+ and PiSSA: LoRA through peft with one change each."""

from __future__ import annotations

import tempfile
import weakref
from pathlib import Path

import peft
from torch import nn

from peftctl.api import write_dir_atomically
from peftctl_lora.method import LoraMethod
from peftctl_lora.variants.config import LoraPlusConfig, PissaConfig


class DoraMethod(LoraMethod):
    """Weight-decomposed LoRA (peft ``use_dora``)."""

    def peft_config(self) -> peft.LoraConfig:
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
    """PiSSA: the adapter starts from the top singular vectors and the base keeps the residual.

    The base weights change at ``apply``, so ``save`` converts the adapter into a plain LoRA
    adapter (rank ``2r``) for the *original* base: ``adapter/`` loads onto a fresh model.
    """

    config: PissaConfig

    def peft_config(self) -> peft.LoraConfig:
        config = super().peft_config()
        config.init_lora_weights = self.config.init
        return config

    def apply(self, model: nn.Module) -> nn.Module:
        peft_model = super().apply(model)
        self._initial_dir = Path(tempfile.mkdtemp(prefix="peftctl-pissa-init-"))
        weakref.finalize(self, _remove_tree, self._initial_dir)
        config = peft_model.peft_config["default"]
        config.init_lora_weights = True  # peft's recipe: the initial copy must not re-run SVD
        peft_model.save_pretrained(str(self._initial_dir), safe_serialization=True)
        config.init_lora_weights = self.config.init
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


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
