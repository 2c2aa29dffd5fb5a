"""A Hugging Face byte-level BPE tokenizer as GGUF ``tokenizer.*`` keys (llama.cpp's "gpt2"
tokenizer model): tokens, token types, merges, special ids and the chat template."""

from __future__ import annotations

import json
from typing import Any

from gguf import GGUFWriter, TokenType

from peftctl.errors import PeftctlError

UNSUPPORTED = (
    "GGUF export supports byte-level BPE tokenizers (GPT-2 style: SmolLM2's, Llama 3's, "
    "Qwen2's), not SentencePiece-style ones (Gemma's, Phi-3's, Llama 2's); export with "
    "--format merged and convert with llama.cpp's convert_hf_to_gguf.py"
)
NO_NORMALIZER = (None, {"type": "Sequence", "normalizers": []})
LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_REGEX = LLAMA3_REGEX.replace(r"\p{N}{1,3}", r"\p{N}")  # digits one by one
#: tokenizer.json pre-tokenizer steps (see :func:`_signature`) -> llama.cpp's name for them
PRE_TOKENIZERS = {
    (("ByteLevel", True, False),): "gpt-2",
    (("Digits", True), ("ByteLevel", True, False)): "smollm",
    (("Split", LLAMA3_REGEX, "Isolated", False), ("ByteLevel", False, False)): "llama-bpe",
    (("Split", QWEN2_REGEX, "Isolated", False), ("ByteLevel", False, False)): "qwen2",
}
#: llama.cpp's pre-tokenizers for models whose tokenizer normalises to NFC first (Qwen2's):
#: llama.cpp does not, as its converter accepts; text already in NFC, as almost all is, splits
#: the same
NFC = {"type": "NFC"}
NFC_PRE_TOKENIZERS = ("qwen2",)

#: llama.cpp's pre-tokenizers that look whole words up before merging (BPE ``ignore_merges``)
IGNORES_MERGES = ("llama-bpe",)


def add_tokenizer(writer: GGUFWriter, tokenizer: Any, vocab_size: int) -> None:
    """Write ``tokenizer``'s GGUF keys; the token list is padded to ``vocab_size`` rows
    (the embedding's) with ``[PADn]`` entries, as llama.cpp's converter does."""
    backend = backend_json(tokenizer)
    pre = pre_tokenizer_name(backend)
    tokens, types = token_table(tokenizer, vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merge_list(backend["model"]))
    _add_special_tokens(writer, tokenizer)
    if isinstance(tokenizer.chat_template, str):
        writer.add_chat_template(tokenizer.chat_template)


def check_tokenizer(tokenizer: Any) -> None:
    """Raise the one-line :class:`PeftctlError` :func:`add_tokenizer` would, before a model
    loads."""
    pre_tokenizer_name(backend_json(tokenizer))


def backend_json(tokenizer: Any) -> dict[str, Any]:
    """The tokenizer.json of ``tokenizer`` as a dict (a :class:`PeftctlError` if it has none)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise PeftctlError(f"{UNSUPPORTED} (this one is {type(tokenizer).__name__})")
    return json.loads(backend.to_str())


def pre_tokenizer_name(backend: dict[str, Any]) -> str:
    """llama.cpp's name (``tokenizer.ggml.pre``) for the pre-tokenizer of ``backend`` (a
    tokenizer.json as a dict), or a :class:`PeftctlError` for one llama.cpp would split
    differently."""
    model, normalizer = backend.get("model", {}), backend.get("normalizer")
    if model.get("type") != "BPE" or normalizer not in (*NO_NORMALIZER, NFC):
        raise PeftctlError(f"{UNSUPPORTED} (this one: {model.get('type')}, {normalizer})")
    steps = tuple(_signature(step) for step in _steps(backend.get("pre_tokenizer")))
    if steps not in PRE_TOKENIZERS:
        names = " + ".join(step[0] for step in steps) or "nothing"
        raise PeftctlError(f"{UNSUPPORTED} (this one pre-tokenizes with {names})")
    name = PRE_TOKENIZERS[steps]
    if normalizer == NFC and name not in NFC_PRE_TOKENIZERS:
        raise PeftctlError(
            f"{UNSUPPORTED} (this one normalises to NFC, llama.cpp's '{name}' does not)"
        )
    if bool(model.get("ignore_merges")) != (name in IGNORES_MERGES):
        raise PeftctlError(f"{UNSUPPORTED} (ignore_merges differs from llama.cpp's '{name}')")
    return name


def _signature(step: dict[str, Any]) -> tuple:
    """What decides how a pre-tokenizer step splits text."""
    kind = step.get("type")
    if kind == "ByteLevel":
        return (kind, step.get("use_regex", True), step.get("add_prefix_space", False))
    if kind == "Digits":
        return (kind, step.get("individual_digits", False))
    if kind == "Split":
        pattern = step.get("pattern", {})
        return (kind, pattern.get("Regex"), step.get("behavior"), step.get("invert", False))
    return (kind,)


def token_table(tokenizer: Any, vocab_size: int) -> tuple[list[str], list[int]]:
    """Token strings (byte-level form; added tokens as written) and their GGUF types."""
    by_id = {index: token for token, index in tokenizer.get_vocab().items()}
    added = tokenizer.added_tokens_decoder
    tokens, types = [], []
    for index in range(vocab_size):
        if index not in by_id:
            tokens.append(f"[PAD{index}]")
            types.append(TokenType.USER_DEFINED)
        elif index in added:
            tokens.append(added[index].content)
            types.append(TokenType.CONTROL if added[index].special else TokenType.USER_DEFINED)
        else:
            tokens.append(by_id[index])
            types.append(TokenType.NORMAL)
    if len(by_id) > vocab_size:
        raise PeftctlError(
            f"tokenizer has {len(by_id)} tokens but the model's embedding only {vocab_size} rows"
        )
    return tokens, [int(kind) for kind in types]


def merge_list(model: dict[str, Any]) -> list[str]:
    """BPE merges as ``"a b"`` strings (tokenizer.json stores strings or pairs)."""
    return [merge if isinstance(merge, str) else " ".join(merge) for merge in model["merges"]]


def _steps(pre_tokenizer: dict[str, Any] | None) -> list[dict[str, Any]]:
    if pre_tokenizer is None:
        return []
    if pre_tokenizer.get("type") == "Sequence":
        return list(pre_tokenizer["pretokenizers"])
    return [pre_tokenizer]


def _add_special_tokens(writer: GGUFWriter, tokenizer: Any) -> None:
    ids = {
        writer.add_bos_token_id: tokenizer.bos_token_id,
        writer.add_eos_token_id: tokenizer.eos_token_id,
        writer.add_unk_token_id: tokenizer.unk_token_id,
        writer.add_pad_token_id: tokenizer.pad_token_id,
    }
    for add, token_id in ids.items():
        if token_id is not None:
            add(token_id)
    with_special = tokenizer("a").input_ids
    plain = tokenizer("a", add_special_tokens=False).input_ids
    writer.add_add_bos_token(len(with_special) > len(plain) and with_special[0] != plain[0])
    writer.add_add_eos_token(len(with_special) > len(plain) and with_special[-1] != plain[-1])
