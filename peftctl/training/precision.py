"""How a chosen precision shapes the model: frozen weights stored in bf16 when training in
bf16 (autocast would otherwise re-cast them on every call), the residual stream and trainable
weights kept in fp32, attention kernels that are fast for the precision."""

from __future__ import annotations

import torch
from torch import nn

from peftctl.methods.base import causal_lm


def prepare_base(model: nn.Module, precision: str, device_type: str) -> None:
    """Make the frozen base model (stored in :func:`~peftctl.models.loading.base_dtype`)
    train well in ``precision`` under autocast: fast kernels, an fp32 residual stream."""
    tune_for_precision(model, precision, device_type)
    keep_residual_fp32(model, precision)
    keep_layer_norms_fp32(model, precision)


def keep_layer_norms_fp32(model: nn.Module, precision: str) -> None:
    """In bf16, keep ``nn.LayerNorm`` weights (GPT-2, GPT-NeoX, OPT, Falcon, Phi) in fp32:
    autocast runs layer norm in fp32 and torch refuses fp32 inputs with bf16 weights; with
    fp32 weights a bf16 input (outside autocast) still works. RMS norms cast by themselves."""
    if precision == "bf16":
        for module in model.modules():
            if isinstance(module, nn.LayerNorm):
                module.float()


def keep_residual_fp32(model: nn.Module, precision: str) -> None:
    """In bf16, upcast the input embeddings' output, so the residual stream (embeddings plus
    every layer's output) is summed in fp32, as it is under autocast with fp32 weights; the
    linear layers still run in bf16 (autocast casts their inputs). Stored in bf16, the stream
    is rounded to bf16 at every residual add: the largest part of bf16's departure from fp32
    (``benchmarks/bf16_parity.py``). Outside autocast the model runs in plain bf16."""
    if precision == "bf16":
        embeddings = causal_lm(model).get_input_embeddings()
        embeddings.register_forward_hook(_to_fp32)


def _to_fp32(_module: nn.Module, _args: tuple, output: torch.Tensor) -> torch.Tensor:
    # without autocast the bf16 linears need bf16 inputs: the model then runs in plain bf16
    return output.float() if torch.is_autocast_enabled(output.device.type) else output


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
