"""AdaLoRA through peft's ``AdaLoraConfig``; the rank allocator steps after every update."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import peft
import torch
from peftctl_lora import LoraMethod
from torch import nn

from peftctl.api import causal_lm, peft_targets
from peftctl_adalora.config import AdaLoraConfig

# What peft says of every AdaLoRA adapter whose budget was allocated, and no user can act on:
# on save, modules pruned to rank 0 hold empty tensors (correct: they add nothing); on load,
# its generic check does not know AdaLoRA's ``rank_pattern`` keys (which peft itself applies).
PEFT_NOISE = (
    r"Adapter '.*': \d+ LoRA tensor\(s\) have invalid shape",
    r"The following rank_pattern keys did not match any targeted module",
)


@contextlib.contextmanager
def _quiet_peft() -> Iterator[None]:
    with warnings.catch_warnings():
        for message in PEFT_NOISE:
            warnings.filterwarnings("ignore", message=message)
        yield


class AdaLoraMethod(LoraMethod):
    """Adaptive-budget LoRA: ``on_step`` calls peft's ``update_and_allocate``."""

    config: AdaLoraConfig

    def peft_config(self) -> peft.AdaLoraConfig:
        cfg = self.config
        return peft.AdaLoraConfig(
            task_type="CAUSAL_LM",
            target_r=cfg.r,
            init_r=cfg.init_r,
            lora_alpha=cfg.alpha,
            lora_dropout=cfg.dropout,
            target_modules=peft_targets(cfg.target_modules),
            bias=cfg.bias,
            total_step=cfg.total_step,
            tinit=cfg.tinit,
            tfinal=cfg.tfinal,
            deltaT=cfg.delta_t,
            orth_reg_weight=cfg.orth_reg_weight,
        )

    def apply(self, model: nn.Module) -> nn.Module:
        return _freeze_ranknum(super().apply(model))

    def save(self, model: nn.Module, adapter_dir: Path) -> None:
        with _quiet_peft():
            super().save(model, adapter_dir)

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        with _quiet_peft():
            return _freeze_ranknum(super().load(model, adapter_dir, trainable=trainable))

    def on_step(self, model: nn.Module, step: int) -> None:
        peft_model = getattr(model, "module", model)
        if causal_lm(peft_model).training:
            peft_model.base_model.update_and_allocate(step)

    def regularization(self, model: nn.Module) -> torch.Tensor | None:
        """peft's orthogonality penalty on P and Q (its ``AdaLoraModel.forward`` adds it only
        to a loss the model computes itself, which the trainer's sparse loss is not)."""
        if self.config.orth_reg_weight == 0:
            return None
        norms = []
        for name, param in model.named_parameters():
            if param.requires_grad and ("lora_A" in name or "lora_B" in name):
                cov = param @ param.T if "lora_A" in name else param.T @ param
                eye = torch.eye(*cov.shape, dtype=cov.dtype, device=cov.device)
                norms.append(torch.linalg.matrix_norm(cov - eye))
        return self.config.orth_reg_weight * torch.stack(norms).mean() if norms else None


def _freeze_ranknum(model: nn.Module) -> nn.Module:
    """peft's ``ranknum`` (the rank the update is divided by) is a constant, but moving an
    adapter to a bf16 base re-wraps it as a trainable ``nn.Parameter``: the optimiser would
    then change it, and it is not saved, so the evaluated model would differ from the trained."""
    for name, param in model.named_parameters():
        if ".ranknum." in name:
            param.requires_grad_(False)
    return model
