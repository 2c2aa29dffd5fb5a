"""A supported family (:data:`~peftctl.export.gguf_families.FAMILIES`) as llama.cpp reads it:
whether this model is one llama.cpp runs the same, its hyperparameter keys, and the tensors
llama.cpp needs beyond the weights (``rope_freqs`` for Llama 3.1-style rope scaling)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gguf import GGUFWriter, RopeScalingType

from peftctl.errors import PeftctlError
from peftctl.export.gguf_families import Family, convert_hint, family_of, text_config
from peftctl.models.transformers_compat import rope_parameters

ROPE_FREQS = "rope_freqs.weight"


def check_supported(config: Any) -> Family:
    """The family of ``config`` (a transformers config), or a one-line :class:`PeftctlError`
    for a model llama.cpp would not run as transformers does."""
    family = family_of(getattr(config, "model_type", None))
    unsupported = [name for name, present in _problems(family, text_config(config)) if present]
    if unsupported:
        raise PeftctlError(
            f"GGUF export of {config.model_type} models does not support "
            f"{', '.join(unsupported)}: " + convert_hint()
        )
    return family


def add_hparams(writer: GGUFWriter, config: Any) -> None:
    """The ``<arch>.*`` keys llama.cpp (and transformers' GGUF loader) read."""
    family, text = family_of(config.model_type), text_config(config)
    heads, head_dim = text.num_attention_heads, head_dim_of(text)
    writer.add_vocab_size(text.vocab_size)
    writer.add_context_length(text.max_position_embeddings)
    writer.add_embedding_length(text.hidden_size)
    writer.add_block_count(text.num_hidden_layers)
    writer.add_feed_forward_length(text.intermediate_size)
    writer.add_head_count(heads)
    writer.add_head_count_kv(text.num_key_value_heads or heads)
    writer.add_layer_norm_rms_eps(float(text.rms_norm_eps))
    if family.head_dim_keys or head_dim != text.hidden_size // heads:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    _add_rope(writer, text)
    if family.extra_keys is not None:
        family.extra_keys(writer, text)


def extra_tensors(config: Any) -> dict[str, np.ndarray]:
    """For Llama 3.1-style rope scaling (``rope_type: llama3``), ``rope_freqs.weight``: the
    factor llama.cpp divides each rotary frequency by, the default frequencies over the scaled
    ones, as transformers computes them."""
    text = text_config(config)
    rope = global_rope(text)
    if _rope_type(rope) != "llama3":
        return {}
    import torch
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    dim = head_dim_of(text)
    plain = 1.0 / float(rope["rope_theta"]) ** (torch.arange(0, dim, 2, dtype=torch.float) / dim)
    scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](text, "cpu")
    return {ROPE_FREQS: (plain / scaled).float().numpy()}


def head_dim_of(config: Any) -> int:
    """The width of one attention head."""
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def global_rope(config: Any) -> dict[str, Any]:
    """The rope parameters of the full-attention layers (Gemma 3 has two sets)."""
    parameters = rope_parameters(config)
    return dict(parameters.get("full_attention", parameters))


def _add_rope(writer: GGUFWriter, config: Any) -> None:
    rope = global_rope(config)
    partial = rope.get("partial_rotary_factor", getattr(config, "partial_rotary_factor", None))
    writer.add_rope_freq_base(float(rope["rope_theta"]))
    writer.add_rope_dimension_count(int(head_dim_of(config) * float(partial or 1.0)))
    if _rope_type(rope) == "linear":
        writer.add_rope_scaling_type(RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(rope["factor"]))


def _problems(family: Family, config: Any) -> list[tuple[str, bool]]:
    key, wanted = family.activation
    activation, rope = getattr(config, key, None), _rope_type(global_rope(config))
    return [
        *((flag, bool(getattr(config, flag, False))) for flag in family.must_be_off),
        *((f"{name}=None", getattr(config, name, None) is None) for name in family.must_be_set),
        (f"{key}={activation}", activation != wanted),
        (f"rope_scaling={rope}", rope not in family.rope_types),
        ("an untied output head", family.tied_only and not config.tie_word_embeddings),
        (
            f"layer_types other than llama.cpp's (1 full-attention layer in {family.swa_period})",
            not _swa_layers_match(family, config),
        ),
        ("sliding-window rope other than default 10000", not _swa_rope_matches(family, config)),
        (
            f"query_pre_attn_scalar={getattr(config, 'query_pre_attn_scalar', None)}",
            not _attention_scale_matches(family, config),
        ),
    ]


def _swa_layers_match(family: Family, config: Any) -> bool:
    """llama.cpp slides the window on a fixed pattern of layers (transformers' default)."""
    types = getattr(config, "layer_types", None)
    if not family.swa_period or types is None:
        return True
    full = [(index + 1) % family.swa_period == 0 for index in range(len(types))]
    return [kind == "full_attention" for kind in types] == full


def _swa_rope_matches(family: Family, config: Any) -> bool:
    if family.swa_rope_theta is None:
        return True
    fallback = {"rope_theta": getattr(config, "rope_local_base_freq", family.swa_rope_theta)}
    local = rope_parameters(config).get("sliding_attention") or fallback
    return _rope_type(local) is None and float(local["rope_theta"]) == family.swa_rope_theta


def _attention_scale_matches(family: Family, config: Any) -> bool:
    """llama.cpp scales attention by 1/sqrt(head width), by 1/sqrt(hidden / heads) for the 27B
    model (which it knows by its layer count): Gemma's ``query_pre_attn_scalar`` must agree."""
    if not family.layers_27b:
        return True
    big = config.num_hidden_layers == family.layers_27b
    expected = config.hidden_size // config.num_attention_heads if big else head_dim_of(config)
    return config.query_pre_attn_scalar == expected


def _rope_type(parameters: dict[str, Any]) -> str | None:
    kind = parameters.get("rope_type", parameters.get("type"))
    return None if kind == "default" else kind
