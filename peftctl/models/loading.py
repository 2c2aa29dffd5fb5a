"""Load a causal LM and its tokenizer by name: the built-in default, a hub id, a local dir or a
local ``.gguf`` file (dequantised by transformers' GGUF loader, e.g. a ``peftctl export``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from peftctl.errors import PeftctlError
from peftctl.facts.names import check_model_name, is_default_model

# transformers 5 draws a "Loading weights" bar for every load: noise in one-line error output
# and in logs, for a load of seconds
hf_logging.disable_progress_bar()
T = TypeVar("T")
GGUF_SUFFIX = ".gguf"


def base_dtype(precision: str) -> torch.dtype:
    """dtype to load the frozen base model in for ``precision`` (fp32, bf16 or fp16)."""
    return torch.bfloat16 if precision == "bf16" else torch.float32


def load_tokenizer(name: str, *, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    """The tokenizer of model ``name``; it always has a pad token from its own vocabulary."""
    tokenizer = _load(
        name,
        lambda source, **kw: AutoTokenizer.from_pretrained(
            source, trust_remote_code=trust_remote_code, **kw
        ),
    )
    path = Path(name).expanduser()
    if path.suffix == GGUF_SUFFIX and path.is_file():
        gguf_special_tokens(tokenizer, path)
    ensure_pad_token(tokenizer)
    return tokenizer


def gguf_special_tokens(tokenizer: PreTrainedTokenizerBase, path: Path) -> None:
    """Give a tokenizer read from GGUF file ``path`` the special tokens and the BOS rule the
    file states (transformers 4.57 reads them wrong: eos = bos, a BOS added regardless)."""
    from gguf import GGUFReader

    fields = GGUFReader(path).fields

    def scalar(key: str) -> Any:
        field = fields.get(key)
        return None if field is None else field.parts[field.data[0]][0].item()

    for key, attribute in (("bos", "bos_token"), ("eos", "eos_token"), ("padding", "pad_token")):
        token_id = scalar(f"tokenizer.ggml.{key}_token_id")
        if token_id is not None:
            setattr(tokenizer, attribute, tokenizer.convert_ids_to_tokens(int(token_id)))
    add_bos = scalar("tokenizer.ggml.add_bos_token")
    if add_bos is not None and hasattr(tokenizer, "add_bos_token"):
        tokenizer.add_bos_token = bool(add_bos)


def load_model(
    name: str, *, dtype: torch.dtype = torch.float32, trust_remote_code: bool = False
) -> PreTrainedModel:
    """The causal LM ``name`` with weights in ``dtype`` (on the CPU, in eval mode)."""
    return _load(
        name,
        lambda source, **kw: AutoModelForCausalLM.from_pretrained(
            source, dtype=dtype, trust_remote_code=trust_remote_code, **kw
        ),
    )


def ensure_pad_token(tokenizer: PreTrainedTokenizerBase) -> None:
    """Give ``tokenizer`` a pad token (unk, else eos) when it has none, never adding a token."""
    if tokenizer.pad_token_id is not None:
        return
    for candidate in (tokenizer.unk_token, tokenizer.eos_token):
        if candidate is not None:
            tokenizer.pad_token = candidate
            return
    raise PeftctlError(
        f"tokenizer of '{tokenizer.name_or_path}' has no pad, unk or eos token to pad batches with"
    )


def model_source(name: str) -> str:
    """What ``from_pretrained`` gets for ``name``: a local directory, a ``.gguf`` file or a
    hub id."""
    if is_default_model(name):
        from peftctl.models.default_model import default_model_dir

        return str(default_model_dir())
    check_model_name(name)
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if path.is_file() and path.suffix == GGUF_SUFFIX:
        return str(path)
    if path.exists():
        raise PeftctlError(
            f"model '{name}' is a file; pass a model directory, a {GGUF_SUFFIX} file or a hub id"
        )
    return name


def _load(name: str, loader: Callable[..., T]) -> T:
    """``loader(source)``; a hub id the hub cannot serve now comes from the HF cache alone,
    at once, instead of after a minute of retries."""
    from peftctl.hub import hub_reachable

    source = model_source(name)
    path = Path(source)
    if path.is_file():  # a .gguf file
        return _load_gguf(name, path, loader)
    local = path.is_dir()
    try:
        return loader(source) if local or hub_reachable() else loader(source, local_files_only=True)
    except (OSError, ValueError) as error:
        problem = _user_error(name, local, error)
        if problem is None:
            raise
        raise problem from error


def _load_gguf(name: str, path: Path, loader: Callable[..., T]) -> T:
    """``loader`` on a GGUF file: transformers dequantises it (the families it can read)."""
    try:
        return loader(str(path.parent), gguf_file=path.name)
    except Exception as error:  # a truncated or foreign file fails in many ways in the reader
        raise PeftctlError(
            f"model '{name}' cannot be read as GGUF ({type(error).__name__}: "
            f"{_first_sentence(str(error))}); "
            "transformers reads the GGUF files of the families `peftctl export` writes"
        ) from error


def _user_error(name: str, local: bool, error: Exception) -> PeftctlError | None:
    """The one-line error for a failed load a user can fix, or None for a bug."""
    text = str(error).strip()
    if "trust_remote_code" in text:
        return PeftctlError(
            f"model '{name}' ships its own code and needs trust_remote_code; enable it only if "
            "you trust that code"
        )
    if local:
        return PeftctlError(
            f"model directory '{name}' cannot be loaded ({_first_sentence(text)}); it must hold "
            "a Hugging Face model: config.json, weights and tokenizer files"
        )
    if isinstance(error, OSError):
        return PeftctlError(
            f"model '{name}' is not a local directory and the Hugging Face hub is unreachable or "
            "has no such model; check the path or id (offline? its files must be in the HF cache)"
        )
    return None


def _first_sentence(text: str, limit: int = 200) -> str:
    line = text.splitlines()[0] if text else "unknown error"
    sentence = line.split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= limit else sentence[: limit - 3] + "..."
