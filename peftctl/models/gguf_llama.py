"""llama.cpp's layout of a llama-architecture model, both ways: tensor names from gguf's own
name table and the Q/K row order of llama.cpp's rotary embedding (interleaved pairs, where HF
rotates halves). The exporter writes with it; the default model's GGUF is read back with it."""

from __future__ import annotations

from typing import Any

import numpy as np
from gguf import MODEL_ARCH, get_tensor_name_map


def tensor_name(hf_name: str, num_layers: int) -> str | None:
    """llama.cpp's name for the HF tensor ``hf_name`` (``model.layers.3.mlp.up_proj.weight``
    -> ``blk.3.ffn_up.weight``), or None when llama.cpp has none."""
    names = get_tensor_name_map(MODEL_ARCH.LLAMA, num_layers)
    return names.get_name(hf_name, try_suffixes=(".weight", ".bias"))


def to_llamacpp_rows(gguf_name: str, rows: np.ndarray, config: Any) -> np.ndarray:
    """``rows`` (a weight, or a LoRA B matrix: output rows first) reordered for llama.cpp:
    q and k rows go from HF's rotate-half layout to llama.cpp's interleaved pairs."""
    heads = _rotary_heads(gguf_name, config)
    return rows if heads is None else permute_rows(rows, heads)


def from_llamacpp_rows(gguf_name: str, rows: np.ndarray, config: Any) -> np.ndarray:
    """The inverse of :func:`to_llamacpp_rows`: llama.cpp's q/k rows back in HF's order."""
    heads = _rotary_heads(gguf_name, config)
    return rows if heads is None else unpermute_rows(rows, heads)


def permute_rows(weights: np.ndarray, n_head: int) -> np.ndarray:
    """convert_hf_to_gguf.py's ``LlamaModel.permute``: per head, rows ``[x0..x(d/2-1),
    y0..y(d/2-1)]`` become ``[x0, y0, x1, y1, ...]``."""
    shape = weights.shape
    per_head = weights.reshape(n_head, 2, shape[0] // n_head // 2, *shape[1:])
    return per_head.swapaxes(1, 2).reshape(shape)


def unpermute_rows(weights: np.ndarray, n_head: int) -> np.ndarray:
    """Per head, rows ``[x0, y0, x1, y1, ...]`` back to ``[x0..x(d/2-1), y0..y(d/2-1)]``."""
    shape = weights.shape
    per_head = weights.reshape(n_head, shape[0] // n_head // 2, 2, *shape[1:])
    return per_head.swapaxes(1, 2).reshape(shape)


def _rotary_heads(gguf_name: str, config: Any) -> int | None:
    heads = config.num_attention_heads
    if ".attn_q." in gguf_name:
        return heads
    if ".attn_k." in gguf_name:
        return config.num_key_value_heads or heads
    return None
