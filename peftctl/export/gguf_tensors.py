"""The weights of a supported family under llama.cpp's names (gguf's own name table for the
family's architecture) and as llama.cpp stores them: llama's q/k rows in interleaved rotary
pairs, Gemma's norms as 1 + w, a multimodal model's text weights alone."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from gguf import MODEL_ARCH_NAMES, TensorNameMap, get_tensor_name_map

from peftctl.errors import PeftctlError
from peftctl.export.gguf_families import Family, convert_hint
from peftctl.models import gguf_llama

ARCHS = {name: arch for arch, name in MODEL_ARCH_NAMES.items()}


def text_name(hf_name: str, family: Family) -> str | None:
    """``hf_name`` as the text model spells it (``model.language_model.x`` -> ``model.x``), or
    None for a tensor llama.cpp's text model leaves out (a vision tower's)."""
    if hf_name.startswith(family.skipped):
        return None
    for old, new in family.renames:
        if hf_name.startswith(old):
            return new + hf_name[len(old) :]
    return hf_name


def gguf_name(hf_name: str, family: Family, num_layers: int) -> str:
    """llama.cpp's name for the text model's tensor ``hf_name``
    (``model.layers.3.mlp.up_proj.weight`` -> ``blk.3.ffn_up.weight``)."""
    name = _name_map(family.arch, num_layers).get_name(hf_name, try_suffixes=(".weight", ".bias"))
    if name is None:
        raise PeftctlError(f"tensor '{hf_name}' has no llama.cpp name; " + convert_hint())
    return name


def in_llamacpp_order(name: str, rows: np.ndarray, family: Family, config: Any) -> np.ndarray:
    """``rows`` of tensor ``name`` (a weight, bias or LoRA B matrix: output rows first) in
    llama.cpp's order: for the llama architecture, q and k rows go from HF's rotate-half layout
    to interleaved pairs; other architectures rotate halves as HF does."""
    return gguf_llama.to_llamacpp_rows(name, rows, config) if family.permute_qk else rows


def stored_values(name: str, values: np.ndarray, family: Family, config: Any) -> np.ndarray:
    """A weight of the text model (``config``) as llama.cpp stores tensor ``name``."""
    values = in_llamacpp_order(name, values, family, config)
    if family.norm_shift and name.endswith("norm.weight"):
        values = values + np.float32(family.norm_shift)
    return values


@lru_cache(maxsize=8)
def _name_map(arch: str, num_layers: int) -> TensorNameMap:
    return get_tensor_name_map(ARCHS[arch], num_layers)
