"""How a chosen precision shapes the model: frozen weights stored in bf16 when training in
bf16 (autocast would otherwise re-cast them on every call), trainable weights kept in fp32,
attention kernels that are fast for the precision."""

from __future__ import annotations

import torch
from torch import nn

from peftctl.methods.base import causal_lm


def base_dtype(precision: str) -> torch.dtype:
    """dtype to load the frozen base model in for ``precision`` (fp32, bf16 or fp16)."""
    return torch.bfloat16 if precision == "bf16" else torch.float32


def tune_for_precision(model: nn.Module, precision: str, device_type: str) -> None:
    """Pick kernels for ``precision``: on a CPU, bf16 flash-attention backward is several
    times slower than eager attention (AMX matmuls), so bf16 uses eager attention there."""
    if precision == "bf16" and device_type == "cpu":
        causal_lm(model).config._attn_implementation = "eager"


def upcast_trainable(model: nn.Module) -> None:
    """Keep trainable parameters in fp32 (master weights) whatever the base dtype is."""
    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.float()
