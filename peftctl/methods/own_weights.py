"""Methods that train a subset of the model's own parameters (full, freeze, GaLore-style).

``adapter/weights.safetensors`` holds the trained parameters by name; loading copies them
into a fresh base model, and those names are what trains when loaded as trainable.
"""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import nn

from peftctl.errors import PeftctlError
from peftctl.methods.base import Method, causal_lm, write_dir_atomically

WEIGHTS = "weights.safetensors"


class OwnWeightsMethod(Method):
    """Base of the methods that train a subset of the model's own parameters."""

    def trainable_names(self, model: nn.Module) -> set[str]:
        """Names of the parameters that train after :meth:`apply`."""
        raise NotImplementedError

    def apply(self, model: nn.Module) -> nn.Module:
        names = self.trainable_names(model)
        for name, param in model.named_parameters():
            param.requires_grad_(name in names)
        return model

    def save(self, model: nn.Module, adapter_dir: Path) -> None:
        state = {n: p.detach().cpu().contiguous() for n, p in self.trainable_parameters(model)}
        write_dir_atomically(Path(adapter_dir), lambda tmp: save_file(state, str(tmp / WEIGHTS)))

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        path = Path(adapter_dir) / WEIGHTS
        if not path.is_file():
            raise PeftctlError(
                f"{path} is missing; is {adapter_dir} a '{self.config.name}' adapter?"
            )
        state = load_file(str(path))
        params = dict(model.named_parameters())
        unknown = sorted(state.keys() - params.keys())
        if unknown:
            raise PeftctlError(
                f"{path} holds parameters the model lacks ({unknown[0]}, ...); "
                "load it onto the base model it was trained from"
            )
        for name, param in params.items():
            param.requires_grad_(trainable and name in state)
        import torch

        with torch.no_grad():
            for name, value in state.items():
                params[name].copy_(value)
        return model

    def merge(self, model: nn.Module) -> nn.Module:
        model = causal_lm(model)
        for param in model.parameters():
            param.requires_grad_(False)
        return model  # the trained weights already are the model's weights
