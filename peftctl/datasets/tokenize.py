"""Examples -> token ids and loss labels, batched and cached on disk.

Rendering: with a chat template, the prompt is the user turn rendered with
``add_generation_prompt=True`` and the response is ``target`` + eos; without one, the prompt is
``prompt + "\\n"``. Prompt and response are tokenised separately, so the boundary is exact and
:func:`encode_prompt` gives the evaluator the very same prompt ids.

Truncation to ``cutoff_len``: the response is kept whole when the prompt can give up room; the
prompt keeps at least ``cutoff_len // 2`` tokens (or all of itself), losing tokens from its
start; a response that still does not fit loses tokens from its end.
"""

from __future__ import annotations

import array
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peftctl.atomic import temp_file_beside

CODE_VERSION = "1"
IGNORE_INDEX = -100
BATCH = 2048
_SENTINEL = "\ue000PEFTCTL_PROMPT\ue001"


@dataclass
class TokenizedSplit:
    """Token ids per example; ``labels`` are -100 on prompt tokens, the ids on the response."""

    input_ids: list[list[int]]
    labels: list[list[int]]
    n_truncated: int
    from_cache: bool = False


def tokenize_examples(
    examples: Sequence[Any], tokenizer: Any, cutoff_len: int, *, cache_dir: Path | None = None
) -> TokenizedSplit:
    """Tokenise ``examples`` (objects with ``prompt`` and ``target``) for causal-LM training."""
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"{cache_key(examples, tokenizer, cutoff_len)}.bin"
        cached = _read_cache(path)
        if cached is not None:
            return cached
    prompts = encode_prompts(tokenizer, [ex.prompt for ex in examples])
    responses = encode_responses(tokenizer, [ex.target for ex in examples])
    ids, prompt_lens, truncated = [], [], 0
    for prompt, response in zip(prompts, responses, strict=True):
        prompt, response, cut = fit(prompt, response, cutoff_len)
        truncated += cut
        ids.append(prompt + response)
        prompt_lens.append(len(prompt))
    result = TokenizedSplit(ids, _labels(ids, prompt_lens), truncated)
    if path is not None:
        _write_cache(path, ids, prompt_lens, truncated)
    return result


def encode_prompt(tokenizer: Any, prompt: str) -> list[int]:
    """The prompt's token ids exactly as training sees them (ready for generation)."""
    return encode_prompts(tokenizer, [prompt])[0]


def encode_prompts(tokenizer: Any, prompts: Sequence[str]) -> list[list[int]]:
    """:func:`encode_prompt` for many prompts, in batches."""
    chat = bool(getattr(tokenizer, "chat_template", None))
    texts = render_prompts(tokenizer, prompts)
    ids = _batch_encode(tokenizer, texts, special=not chat)
    eos = tokenizer.eos_token_id
    if not chat and eos is not None and eos != tokenizer.bos_token_id:
        ids = [row[:-1] if row and row[-1] == eos else row for row in ids]
    return ids


def render_prompts(tokenizer: Any, prompts: Sequence[str]) -> list[str]:
    """The prompt texts the model sees: the chat-rendered user turn, or ``prompt + "\\n"``."""
    if not getattr(tokenizer, "chat_template", None):
        return [f"{p}\n" for p in prompts]
    prefix, suffix = _chat_frame(tokenizer)
    fast = [f"{prefix}{p}{suffix}" for p in prompts]
    probes = {0, len(prompts) - 1} if prompts else set()
    if all(fast[i] == _chat_render(tokenizer, prompts[i]) for i in probes):
        return fast
    return [_chat_render(tokenizer, p) for p in prompts]  # a template that rewrites content


def fit(prompt: list[int], response: list[int], cutoff_len: int) -> tuple[list, list, bool]:
    """``prompt`` and ``response`` cut to ``cutoff_len`` tokens together (module docstring)."""
    if len(prompt) + len(response) <= cutoff_len:
        return prompt, response, False
    keep_prompt = min(len(prompt), max(cutoff_len - len(response), cutoff_len // 2))
    keep_response = cutoff_len - keep_prompt
    return prompt[len(prompt) - keep_prompt :], response[:keep_response], True


def cache_key(examples: Sequence[Any], tokenizer: Any, cutoff_len: int) -> str:
    """Hash of the tokenizer's identity, the examples' text, ``cutoff_len`` and this code."""
    digest = hashlib.sha256()
    for part in (CODE_VERSION, str(cutoff_len), tokenizer_fingerprint(tokenizer)):
        digest.update(part.encode() + b"\0")
    for ex in examples:
        digest.update(f"{ex.prompt}\x1f{ex.target}\x1e".encode())
    return digest.hexdigest()[:32]


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """Name, class, vocabulary, special tokens and chat template, hashed."""
    vocab = json.dumps(sorted(tokenizer.get_vocab().items()), ensure_ascii=False)
    parts = [
        type(tokenizer).__name__,
        str(getattr(tokenizer, "name_or_path", "")),
        str(len(tokenizer)),
        hashlib.sha256(vocab.encode()).hexdigest(),
        hashlib.sha256(str(getattr(tokenizer, "chat_template", "") or "").encode()).hexdigest(),
        f"{tokenizer.bos_token_id}/{tokenizer.eos_token_id}",
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _chat_render(tokenizer: Any, prompt: str) -> str:
    messages = [{"role": "user", "content": prompt}]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def _chat_frame(tokenizer: Any) -> tuple[str, str]:
    """The rendered text before and after the user's content."""
    rendered = _chat_render(tokenizer, _SENTINEL)
    if rendered.count(_SENTINEL) != 1:
        return "", ""  # the probes then fail and every prompt is rendered in full
    prefix, _, suffix = rendered.partition(_SENTINEL)
    return prefix, suffix


def encode_responses(tokenizer: Any, targets: Sequence[str]) -> list[list[int]]:
    """``target`` + eos ids; each distinct target is tokenised once."""
    unique = list(dict.fromkeys(targets))
    eos = [] if tokenizer.eos_token_id is None else [tokenizer.eos_token_id]
    encoded = dict(zip(unique, _batch_encode(tokenizer, unique, special=False), strict=True))
    return [encoded[t] + eos for t in targets]


def _batch_encode(tokenizer: Any, texts: Sequence[str], *, special: bool) -> list[list[int]]:
    ids: list[list[int]] = []
    for start in range(0, len(texts), BATCH):
        batch = list(texts[start : start + BATCH])
        out = tokenizer(
            batch,
            add_special_tokens=special,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        ids.extend(out["input_ids"])
    return ids


def _labels(ids: list[list[int]], prompt_lens: list[int]) -> list[list[int]]:
    return [[IGNORE_INDEX] * n + row[n:] for row, n in zip(ids, prompt_lens, strict=True)]


def _write_cache(path: Path, ids: list[list[int]], prompt_lens: list[int], truncated: int):
    """One file: a JSON header line, then int64 offsets, int32 prompt lengths, int32 ids."""
    offsets = array.array("q", [0])
    flat = array.array("i")
    for row in ids:
        flat.extend(row)
        offsets.append(len(flat))
    header = {"version": CODE_VERSION, "n": len(ids), "tokens": len(flat), "truncated": truncated}
    fd, tmp = temp_file_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps(header).encode() + b"\n")
            handle.write(offsets.tobytes())
            handle.write(array.array("i", prompt_lens).tobytes())
            handle.write(flat.tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_cache(path: Path) -> TokenizedSplit | None:
    """The cached split, or None when absent or unreadable (then it is rebuilt)."""
    try:
        with path.open("rb") as handle:
            header = json.loads(handle.readline())
            n, tokens = header["n"], header["tokens"]
            offsets, prompt_lens, flat = array.array("q"), array.array("i"), array.array("i")
            offsets.fromfile(handle, n + 1)
            prompt_lens.fromfile(handle, n)
            flat.fromfile(handle, tokens)
    except (OSError, ValueError, KeyError, EOFError):
        return None
    values = flat.tolist()
    ids = [values[offsets[i] : offsets[i + 1]] for i in range(n)]
    lens = prompt_lens.tolist()
    return TokenizedSplit(ids, _labels(ids, lens), header["truncated"], from_cache=True)
