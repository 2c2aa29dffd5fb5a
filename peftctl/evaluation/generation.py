"""Batched greedy generation: left padding, KV cache, stop at eos, length-sorted batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch


def left_pad(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``sequences`` left-padded with ``pad_id``; return (input_ids, attention_mask)."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        if seq:
            ids[row, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
            mask[row, width - len(seq) :] = 1
    return ids, mask


def length_sorted_batches(
    lengths: Sequence[int], batch_size: int, *, same_length: bool = False
) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first), so padding stays small;
    ``same_length`` puts only equally long sequences together (no padding at all)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    if not same_length:
        return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    batches: list[list[int]] = []
    for index in order:
        if (
            not batches
            or len(batches[-1]) == batch_size
            or lengths[batches[-1][0]] != lengths[index]
        ):
            batches.append([])
        batches[-1].append(index)
    return batches


@torch.inference_mode()
def generate(
    model: torch.nn.Module,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    eos_token_id: int,
    pad_token_id: int,
    batch_size: int = 16,
    model_kwargs: Callable[[int], dict[str, Any]] | None = None,
    same_length: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> list[list[int]]:
    """Greedy continuations of tokenised ``prompts`` (each stops at eos, which is dropped).

    Returns the new token ids per prompt, in the input order. ``model_kwargs(batch_size)``
    gives extra arguments of ``generate`` (e.g. a method's task ids). ``same_length`` batches
    only prompts of equal length: for models that ignore position ids (peft's prompt
    learning), left padding would shift the real tokens away from the virtual ones.
    ``on_batch(n)`` is called after each batch with the number of prompts it held.
    """
    outputs: list[list[int]] = [[] for _ in prompts]
    device = next(model.parameters()).device
    lengths = [len(p) for p in prompts]
    for batch in length_sorted_batches(lengths, batch_size, same_length=same_length):
        ids, mask = left_pad([prompts[i] for i in batch], pad_token_id)
        extra = model_kwargs(len(batch)) if model_kwargs is not None else {}
        generated = model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            use_cache=True,
            eos_token_id=eos_token_id,
            pad_token_id=pad_token_id,
            temperature=None,
            top_p=None,
            top_k=None,
            **{key: value.to(device) for key, value in extra.items()},
        )
        new_tokens = generated[:, ids.shape[1] :].tolist()
        for index, tokens in zip(batch, new_tokens, strict=True):
            outputs[index] = until_eos(tokens, eos_token_id)
        if on_batch is not None:
            on_batch(len(batch))
    return outputs


def until_eos(tokens: list[int], eos_token_id: int) -> list[int]:
    """``tokens`` up to, without, the first ``eos_token_id``."""
    return tokens[: tokens.index(eos_token_id)] if eos_token_id in tokens else tokens
