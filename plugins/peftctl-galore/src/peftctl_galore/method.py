"""GaLore on peftctl's own-weights base (``OwnWeightsMethod``): the targeted linear weights
train in full and ``make_optimizer`` builds galore-torch's projected optimiser over them.

``adapter/weights.safetensors`` holds the trained weights (as with ``full``); loading copies
them into a fresh base model, merging returns the model itself.
"""

from __future__ import annotations

import torch
from torch import nn

from peftctl.api import OwnWeightsMethod, target_linears
from peftctl_galore.config import GaloreConfig
from peftctl_galore.optim import galore_optimizer, require_cuda_for


class GaloreMethod(OwnWeightsMethod):
    """Gradient low-rank projection (Zhao et al., 2024)."""

    config: GaloreConfig

    def target_names(self, model: nn.Module) -> set[str]:
        """Names of the linear weights whose gradients are projected."""
        weights = {
            id(linear.weight)
            for linear in target_linears(model, self.config.target_modules).values()
        }
        return {n for n, p in model.named_parameters() if id(p) in weights}

    def trainable_names(self, model: nn.Module) -> set[str]:
        if self.config.train_rest:
            return {name for name, _ in model.named_parameters()}
        return self.target_names(model)

    def apply(self, model: nn.Module) -> nn.Module:
        require_cuda_for(self.config.optimizer)  # fail before any data or model work
        return super().apply(model)

    def parameter_groups(self, model: nn.Module, *, lr: float, weight_decay: float) -> list[dict]:
        """One projected group (the target weights) and plain AdamW groups for the rest."""
        cfg = self.config
        targets = self.target_names(model)
        projected, decay, no_decay = [], [], []
        for name, param in self.trainable_parameters(model):
            if name in targets:
                projected.append(param)
            else:
                (no_decay if param.ndim < 2 else decay).append(param)
        galore = {
            "rank": cfg.rank,
            "update_proj_gap": cfg.update_proj_gap,
            "scale": cfg.scale,
            "proj_type": cfg.proj_type,
        }
        groups = [
            {"params": projected, "lr": lr, "weight_decay": weight_decay, **galore},
            {"params": decay, "lr": lr, "weight_decay": weight_decay},
            {"params": no_decay, "lr": lr, "weight_decay": 0.0},
        ]
        return [group for group in groups if group["params"]]

    def make_optimizer(self, groups: list[dict], *, lr: float) -> torch.optim.Optimizer:
        return galore_optimizer(groups, lr=lr, kind=self.config.optimizer)
