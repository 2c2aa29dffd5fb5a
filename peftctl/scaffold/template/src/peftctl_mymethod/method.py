"""MyMethod: each target linear layer is wrapped in :class:`ScaledLinear`, whose per-channel
scale is the only thing that trains. Scales start at 1, so the model starts unchanged, and
fold into the weights on merge."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch
from peftctl.api import (
    Method,
    PeftctlError,
    causal_lm,
    load_adapter_dir,
    save_adapter_dir,
    target_linears,
)
from torch import nn

from .config import MyMethodConfig

WEIGHTS = "scales.safetensors"


class ScaledLinear(nn.Module):
    """``base(x) * scale``: a frozen linear layer with one trained factor per output channel."""

    def __init__(self, base: nn.Linear) -> None:
        super().__init__()
        self.base = base
        self.scale = nn.Parameter(torch.ones(base.out_features, device=base.weight.device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        return out * self.scale.to(out.dtype)

    def merged(self) -> nn.Linear:
        """The base layer with the scale folded into its weight (and bias)."""
        with torch.no_grad():
            scale = self.scale.to(self.base.weight.dtype)
            self.base.weight.mul_(scale[:, None])
            if self.base.bias is not None:
                self.base.bias.mul_(scale)
        return self.base


class MyMethodMethod(Method):
    """Trained per-channel output scales on the target linear layers."""

    config: MyMethodConfig

    def apply(self, model: nn.Module) -> nn.Module:
        model.requires_grad_(False)
        for name, linear in target_linears(model, self.config.target_modules).items():
            _replace(model, name, ScaledLinear(linear))
        return model

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        _, saved = load_adapter_dir(adapter_dir, method="mymethod", weights_file=WEIGHTS)
        model = self.apply(model)
        scales = _scales(model)
        if saved.keys() != scales.keys():
            raise PeftctlError(
                f"{adapter_dir} does not fit this model and method.target_modules; load it "
                "onto the base model and options it was trained with"
            )
        with torch.no_grad():
            for name, scale in scales.items():
                scale.copy_(saved[name])
                scale.requires_grad_(trainable)
        return model

    def save(self, model: nn.Module, adapter_dir: Path) -> None:
        save_adapter_dir(
            adapter_dir,
            method="mymethod",
            weights_file=WEIGHTS,
            weights=_scales(model),
            options=asdict(self.config),
        )

    def merge(self, model: nn.Module) -> nn.Module:
        model = causal_lm(model)
        for name, module in list(model.named_modules()):
            if isinstance(module, ScaledLinear):
                _replace(model, name, module.merged())
        return model

    def unload(self, model: nn.Module) -> nn.Module:
        """The base model again (its weights were never changed)."""
        model = causal_lm(model)
        for name, module in list(model.named_modules()):
            if isinstance(module, ScaledLinear):
                _replace(model, name, module.base)
        return model


def _scales(model: nn.Module) -> dict[str, nn.Parameter]:
    model = causal_lm(model)  # unwraps DistributedDataParallel
    return {
        f"{name}.scale": module.scale
        for name, module in model.named_modules()
        if isinstance(module, ScaledLinear)
    }


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent), child, new)
