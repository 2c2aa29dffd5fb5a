"""MyMethod: each target linear layer is wrapped in :class:`ScaledLinear`, whose per-channel
scale is the only thing that trains. Scales start at 1, so the model starts unchanged, and
fold into the weights on merge."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from peftctl.errors import PeftctlError
from peftctl.methods.base import Method, write_dir_atomically
from safetensors.torch import load_file, save_file
from torch import nn

from .config import MyMethodConfig

WEIGHTS = "scales.safetensors"
OPTIONS = "options.json"


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
        wanted = set(self.config.target_modules)
        targets = [
            name
            for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in wanted
        ]
        if not targets:
            raise PeftctlError(
                f"method.target_modules {self.config.target_modules} match no linear layer of "
                "the model; name layers it has (e.g. q_proj, v_proj)"
            )
        for name in targets:
            _replace(model, name, ScaledLinear(model.get_submodule(name)))
        return model

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        path = Path(adapter_dir) / WEIGHTS
        if not path.is_file():
            raise PeftctlError(f"{path} is missing; is {adapter_dir} a {self.config.name} adapter?")
        model = self.apply(model)
        scales, saved = _scales(model), load_file(str(path))
        if saved.keys() != scales.keys():
            raise PeftctlError(
                f"{path} does not fit this model and method.target_modules; load it onto the "
                "base model and options it was trained with"
            )
        with torch.no_grad():
            for name, scale in scales.items():
                scale.copy_(saved[name])
                scale.requires_grad_(trainable)
        return model

    def save(self, model: nn.Module, adapter_dir: Path) -> None:
        state = {n: p.detach().cpu().contiguous() for n, p in _scales(model).items()}

        def write(folder: Path) -> None:
            save_file(state, str(folder / WEIGHTS))
            (folder / OPTIONS).write_text(json.dumps(asdict(self.config), indent=2))

        write_dir_atomically(Path(adapter_dir), write)

    def merge(self, model: nn.Module) -> nn.Module:
        model = getattr(model, "module", model)
        for name, module in list(model.named_modules()):
            if isinstance(module, ScaledLinear):
                _replace(model, name, module.merged())
        return model

    def unload(self, model: nn.Module) -> nn.Module:
        """The base model again (its weights were never changed)."""
        model = getattr(model, "module", model)
        for name, module in list(model.named_modules()):
            if isinstance(module, ScaledLinear):
                _replace(model, name, module.base)
        return model


def _scales(model: nn.Module) -> dict[str, nn.Parameter]:
    model = getattr(model, "module", model)  # DistributedDataParallel
    return {
        f"{name}.scale": module.scale
        for name, module in model.named_modules()
        if isinstance(module, ScaledLinear)
    }


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent), child, new)
