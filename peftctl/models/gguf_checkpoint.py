"""A llama-architecture GGUF file as a plain Hugging Face model: the config from its metadata,
every tensor dequantised by the gguf package and put back in HF's names and row order.

Unlike ``from_pretrained(gguf_file=...)`` the result is an ordinary model, so it can be saved
(transformers 5 refuses to save a GGUF-loaded model as "quantized with gguf").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import init_empty_weights
from gguf import GGUFReader, ReaderTensor
from gguf.quants import dequantize
from transformers import LlamaConfig, LlamaForCausalLM

from peftctl.models import gguf_llama

ARCH = "llama"
OUTPUT = "output.weight"


def read_llama_gguf(path: Path, dtype: torch.dtype = torch.float32) -> LlamaForCausalLM:
    """The model in the llama GGUF file ``path``, dequantised to ``dtype``."""
    reader = GGUFReader(path)
    arch = _field(reader, "general.architecture")
    if arch != ARCH:
        raise ValueError(f"{path.name}: a '{arch}' GGUF; only '{ARCH}' files are read")
    tensors = {tensor.name: tensor for tensor in reader.tensors}
    config = llama_config(reader, tied=OUTPUT not in tensors)
    with init_empty_weights():  # parameters on the meta device: no random init to overwrite
        model = LlamaForCausalLM(config)
    model.load_state_dict(hf_state_dict(tensors, model, dtype), strict=True, assign=True)
    model.tie_weights()
    return model.eval()


def llama_config(reader: GGUFReader, *, tied: bool) -> LlamaConfig:
    """The LlamaConfig the ``llama.*`` metadata describes (as convert_hf_to_gguf.py wrote it)."""
    heads = _field(reader, "llama.attention.head_count")
    hidden = _field(reader, "llama.embedding_length")
    head_dim = _field(reader, "llama.rope.dimension_count", hidden // heads)
    return LlamaConfig(
        vocab_size=_field(reader, "llama.vocab_size"),
        hidden_size=hidden,
        intermediate_size=_field(reader, "llama.feed_forward_length"),
        num_hidden_layers=_field(reader, "llama.block_count"),
        num_attention_heads=heads,
        num_key_value_heads=_field(reader, "llama.attention.head_count_kv", heads),
        head_dim=head_dim,
        max_position_embeddings=_field(reader, "llama.context_length"),
        rms_norm_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon")),
        rope_theta=float(_field(reader, "llama.rope.freq_base", 10000.0)),
        bos_token_id=_field(reader, "tokenizer.ggml.bos_token_id", None),
        eos_token_id=_field(reader, "tokenizer.ggml.eos_token_id", None),
        tie_word_embeddings=tied,
    )


def hf_state_dict(
    tensors: dict[str, ReaderTensor], model: LlamaForCausalLM, dtype: torch.dtype
) -> dict[str, torch.Tensor]:
    """Every parameter of ``model`` from its GGUF tensor, in HF's shape and q/k row order."""
    config, state = model.config, {}
    for hf_name, like in model.state_dict().items():
        if hf_name == "lm_head.weight" and config.tie_word_embeddings:
            continue  # the tied head is the embedding
        name = gguf_llama.tensor_name(hf_name, config.num_hidden_layers)
        if name not in tensors:
            raise ValueError(f"the GGUF file has no tensor {name} for {hf_name}")
        values = dequantize(tensors[name].data, tensors[name].tensor_type).reshape(like.shape)
        values = gguf_llama.from_llamacpp_rows(name, values, config)
        state[hf_name] = torch.from_numpy(np.array(values, dtype=np.float32)).to(dtype)
    if config.tie_word_embeddings:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    return state


_MISSING = object()


def _field(reader: GGUFReader, key: str, default: Any = _MISSING) -> Any:
    field = reader.fields.get(key)
    if field is None:
        if default is _MISSING:
            raise ValueError(f"the GGUF file has no '{key}'")
        return default
    return field.contents()
