"""BitFit: the biases of the target linear layers train, everything else stays frozen.

Llama-style linears have no bias; BitFit gives each target one, initialised to zero, so the
adapted model computes exactly what the base model does until the first optimiser step.
``adapter/biases.safetensors`` holds the target biases by parameter name (1-D tensors only)
and ``adapter/adapter_config.json`` the options and which biases were added.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from peftctl.api import (
    Method,
    PeftctlError,
    causal_lm,
    load_adapter_dir,
    save_adapter_dir,
    target_linears,
)
from peftctl_bitfit.config import BitFitConfig

WEIGHTS = "biases.safetensors"
#: Attribute set on every target linear: "added" (the bias is BitFit's) or "existing".
MARK = "_peftctl_bitfit"
#: transformers config flags that say a block's linears have biases (Llama, Mistral, ...).
BIAS_FLAGS = {"attention_bias": ".self_attn.", "mlp_bias": ".mlp."}


class BitFitMethod(Method):
    """Trains the target linears' biases; merging keeps them as plain ``nn.Linear`` biases."""

    config: BitFitConfig

    # -- building ----------------------------------------------------------------------
    def apply(self, model: nn.Module) -> nn.Module:
        targets = self.targets(model)
        model.requires_grad_(False)
        for linear in targets.values():
            ensure_bias(linear).requires_grad_(True)
        return model

    def targets(self, model: nn.Module) -> dict[str, nn.Linear]:
        """``{module name: linear}`` of the layers whose bias trains (never the LM head)."""
        return target_linears(model, self.config.target_modules)

    def load(self, model: nn.Module, adapter_dir: Path, *, trainable: bool = False) -> nn.Module:
        _, state = load_adapter_dir(adapter_dir, method="bitfit", weights_file=WEIGHTS)
        model.requires_grad_(False)
        with torch.no_grad():
            for key, value in state.items():
                bias = ensure_bias(linear_for(model, key, value, adapter_dir))
                bias.copy_(value)
                bias.requires_grad_(trainable)
        return model

    # -- persistence -------------------------------------------------------------------
    def save(self, model: nn.Module, adapter_dir: Path) -> None:
        added = sorted(
            name for name, m in model.named_modules() if getattr(m, MARK, None) == "added"
        )
        save_adapter_dir(
            adapter_dir,
            method="bitfit",
            weights_file=WEIGHTS,
            weights=dict(self.trainable_parameters(model)),
            options=asdict(self.config),
            added_biases=added,
        )

    # -- inference ---------------------------------------------------------------------
    def merge(self, model: nn.Module) -> nn.Module:
        """The model itself: its biases already are plain ``nn.Linear`` biases. Where the
        architecture has a bias flag (``attention_bias``, ``mlp_bias``), the block's other
        linears get zero biases and the flag is set, so ``save_pretrained`` round-trips."""
        model = causal_lm(model)
        model.requires_grad_(False)
        for flag, block in BIAS_FLAGS.items():
            if not hasattr(model.config, flag):
                continue
            linears = [
                m for n, m in model.named_modules() if block in n and isinstance(m, nn.Linear)
            ]
            if any(m.bias is not None for m in linears):
                for linear in linears:
                    ensure_bias(linear, mark=False).requires_grad_(False)
                setattr(model.config, flag, True)
        return model

    def unload(self, model: nn.Module) -> nn.Module | None:
        """The base model with the added biases removed; None when existing biases trained."""
        marks = {name: getattr(m, MARK) for name, m in model.named_modules() if hasattr(m, MARK)}
        if "existing" in marks.values():
            return None
        for name in marks:
            linear = model.get_submodule(name)
            linear.register_parameter("bias", None)
            delattr(linear, MARK)
        return model


def ensure_bias(linear: nn.Linear, *, mark: bool = True) -> nn.Parameter:
    """``linear``'s bias, created as zeros (weight's dtype and device) when it has none."""
    if linear.bias is None:
        weight = linear.weight
        zeros = torch.zeros(out_features(linear), dtype=weight.dtype, device=weight.device)
        linear.bias = nn.Parameter(zeros)
        if mark:
            setattr(linear, MARK, "added")
    elif mark and not hasattr(linear, MARK):
        setattr(linear, MARK, "existing")
    return linear.bias


def linear_for(model: nn.Module, key: str, value: torch.Tensor, adapter_dir: Path) -> nn.Linear:
    """The linear layer whose bias is ``key``, checked against the saved shape."""
    name, _, leaf = key.rpartition(".")
    try:
        module = model.get_submodule(name)
    except AttributeError:
        module = None
    if leaf != "bias" or module is None or out_features(module) != value.numel():
        raise PeftctlError(
            f"{adapter_dir / WEIGHTS} holds '{key}' {tuple(value.shape)}, which is not a bias of "
            "this model's linears; load it onto the base model it was trained from"
        )
    return module


def out_features(module: nn.Module) -> int | None:
    """Outputs of a linear layer: ``nn.Linear``'s ``out_features``, GPT-2 ``Conv1D``'s ``nf``."""
    return getattr(module, "out_features", None) or getattr(module, "nf", None)
