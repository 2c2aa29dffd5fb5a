"""How a chosen precision shapes the model before the method is applied.

In bf16 the frozen linear weights are stored in bf16 (autocast would otherwise re-cast them
on every call) while embeddings, norms, the LM head and the residual stream stay fp32, so the
numerics match bf16 autocast over an fp32 model. Trainable weights are always fp32.
"""

from __future__ import annotations

import torch
from torch import nn

from peftctl.methods.base import causal_lm


def tune_for_precision(model: nn.Module, precision: str, device_type: str) -> None:
    """Store frozen linear weights in bf16 for bf16 training; on a CPU also use eager
    attention (bf16 flash-attention backward is several times slower there than AMX matmuls)."""
    if precision != "bf16":
        return
    lm = causal_lm(model)
    head = lm.get_output_embeddings()
    for module in lm.modules():
        if isinstance(module, nn.Linear) and module is not head:
            module.to(torch.bfloat16)
    if device_type == "cpu":
        lm.config._attn_implementation = "eager"


def upcast_trainable(model: nn.Module) -> None:
    """Keep trainable parameters in fp32 (master weights) whatever the base dtype is."""
    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.float()
