"""The llama architecture as llama.cpp reads it: which HF models qualify, their
hyperparameter keys, tensor names and the Q/K row order of llama.cpp's rotary embedding."""

from __future__ import annotations

from typing import Any

import numpy as np
from gguf import GGUFWriter, RopeScalingType

from peftctl.errors import PeftctlError
from peftctl.models import gguf_llama
from peftctl.models.transformers_compat import rope_parameters

ARCH = "llama"
ROPE_TYPES = (None, "linear", "llama3")
ROPE_FREQS = "rope_freqs.weight"
CONVERT_HINT = (
    "export it with --format merged and convert that directory with llama.cpp's "
    "convert_hf_to_gguf.py"
)


def check_supported(config: Any) -> None:
    """Raise a one-line :class:`PeftctlError` unless ``config`` (a transformers config) is a
    llama model this exporter writes faithfully."""
    model_type = getattr(config, "model_type", None)
    if model_type != "llama":
        raise PeftctlError(
            f"GGUF export supports llama-architecture models; this model is '{model_type}': "
            + CONVERT_HINT
        )
    problems = [
        ("attention_bias", getattr(config, "attention_bias", False)),
        ("mlp_bias", getattr(config, "mlp_bias", False)),
        (f"hidden_act={config.hidden_act}", config.hidden_act != "silu"),
        (f"rope_scaling={_rope_type(config)}", _rope_type(config) not in ROPE_TYPES),
    ]
    unsupported = [name for name, present in problems if present]
    if unsupported:
        raise PeftctlError(
            f"GGUF export of llama models does not support {', '.join(unsupported)}: "
            + CONVERT_HINT
        )


def add_hparams(writer: GGUFWriter, config: Any) -> None:
    """The ``llama.*`` keys llama.cpp (and transformers' GGUF loader) read."""
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    writer.add_vocab_size(config.vocab_size)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(heads)
    writer.add_head_count_kv(config.num_key_value_heads or heads)
    writer.add_rope_freq_base(float(rope_parameters(config)["rope_theta"]))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_rope_dimension_count(head_dim)
    if head_dim != config.hidden_size // heads:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    if _rope_type(config) == "linear":
        writer.add_rope_scaling_type(RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(rope_parameters(config)["factor"]))


def extra_tensors(config: Any) -> dict[str, np.ndarray]:
    """Tensors llama.cpp needs beyond the weights: for Llama 3.1-style rope scaling
    (``rope_type: llama3``), ``rope_freqs.weight``, the factor llama.cpp divides each rotary
    frequency by: the default frequencies over the scaled ones, as transformers computes them."""
    if _rope_type(config) != "llama3":
        return {}
    import torch
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    theta = float(rope_parameters(config)["rope_theta"])
    plain = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float) / dim)
    scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
    return {ROPE_FREQS: (plain / scaled).float().numpy()}


def gguf_tensor_name(hf_name: str, num_layers: int) -> str:
    """llama.cpp's name for the HF tensor ``hf_name`` (``model.layers.3.mlp.up_proj.weight``
    -> ``blk.3.ffn_up.weight``), from gguf's own name table."""
    name = gguf_llama.tensor_name(hf_name, num_layers)
    if name is None:
        raise PeftctlError(f"tensor '{hf_name}' has no llama.cpp name; " + CONVERT_HINT)
    return name


def _rope_type(config: Any) -> str | None:
    parameters = rope_parameters(config)
    kind = parameters.get("rope_type", parameters.get("type"))
    return None if kind == "default" else kind
