"""The built-in default model: its GGUF converted once to a cached Hugging Face directory.

The weights are dequantised by :mod:`peftctl.models.gguf_checkpoint` (an ordinary model that
saves on every transformers version). The tokenizer comes from transformers' GGUF conversion,
which on 4.57 gets SmolLM2's special tokens wrong (eos becomes ``<|im_start|>`` and a BOS is
prepended to every encoding); the cached copy carries a corrected tokenizer and matching model /
generation config ids.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, processors
from transformers import (
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)

from peftctl.facts.names import DEFAULT_MODEL, default_gguf_path
from peftctl.models.cache import build_once, cache_key, cache_root, file_fingerprint
from peftctl.models.gguf_checkpoint import read_llama_gguf

# Bump when the conversion below changes, so existing caches are rebuilt.
CONVERSION_VERSION = "2"

# SmolLM2's special tokens (as in the hub's tokenizer_config.json), except padding: a real token
# distinct from eos, so masking padding never masks the end-of-turn token the model must learn.
SPECIAL_TOKENS = {
    "unk_token": "<|endoftext|>",
    "pad_token": "<|endoftext|>",
    "bos_token": "<|im_start|>",
    "eos_token": "<|im_end|>",
}
EXPECTED_IDS = {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2}
MODEL_MAX_LENGTH = 8192

logger = logging.getLogger(__name__)


def default_model_dir() -> Path:
    """The cached Hugging Face directory of the default model, converting the GGUF if needed."""
    gguf = default_gguf_path()
    key = cache_key(file_fingerprint(gguf), transformers.__version__, CONVERSION_VERSION)
    target = cache_root() / "models" / f"{DEFAULT_MODEL}-{key}"
    return build_once(target, lambda tmp: convert_gguf(gguf, tmp))


def convert_gguf(gguf: Path, out_dir: Path) -> None:
    """Write the dequantised model and the corrected tokenizer from ``gguf`` to ``out_dir``."""
    logger.info("converting %s once into the peftctl cache (about 15 s)", gguf.name)
    tokenizer = fix_tokenizer(AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name))
    model = read_llama_gguf(gguf, dtype=torch.float32)
    fix_special_token_ids(model, tokenizer)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    source = {"gguf": str(gguf), "transformers": transformers.__version__}
    (out_dir / "peftctl_source.json").write_text(json.dumps(source, indent=2) + "\n")


def fix_tokenizer(converted: PreTrainedTokenizerBase) -> PreTrainedTokenizerFast:
    """A tokenizer with SmolLM2's vocabulary and the right special tokens, adding no BOS."""
    backend = Tokenizer.from_str(converted.backend_tokenizer.to_str())
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    backend.decoder = decoders.ByteLevel()
    fixed = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        chat_template=converted.chat_template,
        model_max_length=MODEL_MAX_LENGTH,
        clean_up_tokenization_spaces=False,
        **SPECIAL_TOKENS,
    )
    ids = {token: fixed.convert_tokens_to_ids(token) for token in EXPECTED_IDS}
    if ids != EXPECTED_IDS or len(fixed) != len(converted) or not fixed.chat_template:
        raise RuntimeError(f"unexpected SmolLM2 tokenizer from the GGUF: {ids}, {len(fixed)}")
    return fixed


def fix_special_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """Make the model and generation config use the tokenizer's bos/eos/pad ids."""
    for config in (model.config, model.generation_config):
        config.bos_token_id = tokenizer.bos_token_id
        config.eos_token_id = tokenizer.eos_token_id
        config.pad_token_id = tokenizer.pad_token_id
