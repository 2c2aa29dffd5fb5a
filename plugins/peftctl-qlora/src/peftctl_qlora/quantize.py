"""Swap a model's decoder linear layers for bitsandbytes 4-bit ones, and back.

Quantisation happens where the weights are (CPU or GPU) and is deterministic, so the same
base model always gives the same 4-bit weights: an adapter reloads onto a fresh copy exactly.
"""

from __future__ import annotations

import bitsandbytes as bnb
import torch
from torch import nn

from peftctl.api import PeftctlError, causal_lm


def quantize_linears(model: nn.Module, *, quant_type: str, double_quant: bool) -> int:
    """Replace every ``nn.Linear`` of the decoder with a 4-bit ``Linear4bit``; returns how many.

    The LM head and the embeddings keep their precision (as in QLoRA).
    """
    lm = causal_lm(model)
    linears = [
        (name, module)
        for name, module in lm.get_decoder().named_modules()
        if type(module) is nn.Linear
    ]
    if not linears:
        raise PeftctlError("qlora found no linear layers to quantise in the model's decoder")
    for name, linear in linears:
        parent, _, attr = name.rpartition(".")
        owner = lm.get_decoder().get_submodule(parent) if parent else lm.get_decoder()
        setattr(owner, attr, to_4bit(linear, quant_type=quant_type, double_quant=double_quant))
    lm.is_loaded_in_4bit = True  # peft then wraps the layers in its bnb 4-bit LoRA layers
    return len(linears)


def to_4bit(linear: nn.Linear, *, quant_type: str, double_quant: bool) -> bnb.nn.Linear4bit:
    weight = linear.weight
    layer = bnb.nn.Linear4bit(
        linear.in_features,
        linear.out_features,
        bias=linear.bias is not None,
        compute_dtype=weight.dtype,
        compress_statistics=double_quant,
        quant_type=quant_type,
        device="meta",
    )
    layer.weight = bnb.nn.Params4bit(
        weight.data,
        requires_grad=False,
        compress_statistics=double_quant,
        quant_type=quant_type,
        module=layer,
    )
    if linear.bias is not None:
        layer.bias = nn.Parameter(linear.bias.data, requires_grad=False)
    layer.weight = layer.weight.to(weight.device)  # quantises
    layer.support_avx512bf16_for_cpu = False
    return layer


def disable_cpu_repacking(model: nn.Module) -> list[bnb.nn.Linear4bit]:
    """Stop bitsandbytes repacking 4-bit weights for avx512-bf16 CPUs; returns the layers.

    bitsandbytes 0.50 repacks a CPU layer's weight on its first forward pass in eval mode
    without gradients, and the repacked layout has no autograd kernel: once a model has been
    evaluated under ``no_grad``, later training steps get wrong gradients through every 4-bit
    layer. Without repacking, the same dequantise-and-matmul path serves training and eval.
    """
    layers = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    for layer in layers:
        layer.support_avx512bf16_for_cpu = False
    return layers


def dequantized(layer: bnb.nn.Linear4bit, delta: torch.Tensor | None = None) -> nn.Linear:
    """A full-precision ``nn.Linear`` with ``layer``'s dequantised weight (+ ``delta``)."""
    weight = bnb.functional.dequantize_4bit(layer.weight.data, layer.weight.quant_state)
    if delta is not None:
        weight = weight + delta.to(weight.dtype)
    linear = nn.Linear(
        layer.in_features,
        layer.out_features,
        bias=layer.bias is not None,
        device=weight.device,
        dtype=weight.dtype,
    )
    with torch.no_grad():
        linear.weight.copy_(weight)
        if layer.bias is not None:
            linear.bias.copy_(layer.bias)
    linear.requires_grad_(False)
    return linear
