"""Rank classification: score every verbalizer as a continuation of the prompt.

A candidate's score is the sum of its tokens' log-probabilities given the prompt (optionally
divided by its length). By default the prompt runs once per example and its KV cache is
shared by all candidates, scored together in one batched pass. Methods whose forward pass
changes the sequence (prompt tuning, prefixes) pass their own ``hidden_states`` instead: each
prompt + candidate is then run in full. The LM head is applied only where a score is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from peftctl.evaluation.generation import left_pad, length_sorted_batches
from peftctl.methods.base import decoder_stack, lm_logits
from peftctl.models.transformers_compat import cache_kwargs, returned_cache

#: ``hidden_states(input_ids, attention_mask) -> [batch, seq, hidden]`` of the real tokens.
HiddenStates = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@torch.inference_mode()
def rank(
    model: torch.nn.Module,
    prompts: Sequence[Sequence[int]],
    candidates: Sequence[Sequence[int]],
    *,
    pad_token_id: int,
    batch_size: int = 16,
    length_normalise: bool = False,
    hidden_states: HiddenStates | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> list[list[float]]:
    """Log-likelihood of each candidate continuation for each prompt: ``[n_prompts][n_cands]``.

    ``hidden_states`` (e.g. a method's :meth:`~peftctl.methods.base.Method.hidden_states`)
    scores full sequences through it; without it the prompt's KV cache is reused. Both give
    the same scores up to floating-point noise.
    """
    scores: list[list[float]] = [[] for _ in prompts]
    for batch in length_sorted_batches([len(p) for p in prompts], batch_size):
        rows = [prompts[i] for i in batch]
        if hidden_states is None:
            totals = _score_with_shared_prompt(model, rows, candidates, pad_token_id)
        else:
            totals = _score_full_sequences(model, hidden_states, rows, candidates, pad_token_id)
        if length_normalise:
            totals = totals / torch.tensor([len(c) for c in candidates], dtype=totals.dtype)
        for index, row in zip(batch, totals.tolist(), strict=True):
            scores[index] = row
        if on_batch is not None:
            on_batch(len(batch))
    return scores


def _head(model: torch.nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """Log-probabilities over the vocabulary for ``hidden`` states."""
    return torch.log_softmax(lm_logits(model, hidden).float(), dim=-1)


def _candidate_block(candidates: Sequence[Sequence[int]], pad_token_id: int, device):
    """Right-padded candidate ids [K, L] and their mask."""
    width = max(len(c) for c in candidates)
    ids = torch.full((len(candidates), width), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(candidates), width), dtype=torch.long)
    for row, cand in enumerate(candidates):
        ids[row, : len(cand)] = torch.tensor(cand, dtype=torch.long)
        mask[row, : len(cand)] = 1
    return ids.to(device), mask.to(device)


def _score_with_shared_prompt(model, prompts, candidates, pad_token_id) -> torch.Tensor:
    decoder = decoder_stack(model)
    device = next(model.parameters()).device
    n_prompts, n_cands = len(prompts), len(candidates)
    prompt_ids, prompt_mask = (t.to(device) for t in left_pad(prompts, pad_token_id))
    prompt_positions = (prompt_mask.cumsum(dim=1) - 1).clamp(min=0)
    out = decoder(
        input_ids=prompt_ids,
        attention_mask=prompt_mask,
        position_ids=prompt_positions,
        use_cache=True,
    )
    first_logp = _head(model, out.last_hidden_state[:, -1, :])  # [B, V]
    cand_ids, cand_mask = _candidate_block(candidates, pad_token_id, device)
    # each candidate's first token is scored from the prompt's last position
    total = first_logp[:, cand_ids[:, 0]]  # [B, K]
    if cand_ids.shape[1] == 1:
        return total.cpu()

    cache = returned_cache(out)
    cache.batch_repeat_interleave(n_cands)  # [B*K] rows, prompt b repeated K times
    ids = cand_ids[:, :-1].repeat(n_prompts, 1)  # feed all but the last candidate token
    step_mask = cand_mask[:, :-1].repeat(n_prompts, 1)
    full_mask = torch.cat([prompt_mask.repeat_interleave(n_cands, dim=0), step_mask], dim=1)
    start = prompt_mask.sum(dim=1).repeat_interleave(n_cands)  # real prompt lengths
    positions = start[:, None] + torch.arange(ids.shape[1], device=device)[None, :]
    hidden = decoder(
        input_ids=ids, attention_mask=full_mask, position_ids=positions,
        **cache_kwargs(decoder, cache),
    ).last_hidden_state  # fmt: skip
    logp = _head(model, hidden)
    targets = cand_ids[:, 1:].repeat(n_prompts, 1)
    picked = logp.gather(-1, targets[..., None]).squeeze(-1) * cand_mask[:, 1:].repeat(n_prompts, 1)
    return (total + picked.sum(dim=1).view(n_prompts, n_cands)).cpu()


def _score_full_sequences(model, hidden_states, prompts, candidates, pad_token_id):
    """Each prompt + candidate right-padded, as training lays sequences out (a method that
    adds virtual tokens sees them right before the real ones)."""
    device = next(model.parameters()).device
    n_cands = len(candidates)
    rows = [(len(p), list(p) + list(c)) for p in prompts for c in candidates]
    width = max(len(seq) for _, seq in rows)
    ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, (_, seq) in enumerate(rows):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    hidden = hidden_states(ids.to(device), mask.to(device))  # [N, W, H]
    scores = torch.empty(len(rows))
    for row, (prompt_len, _) in enumerate(rows):
        cand = candidates[row % n_cands]
        # the state before each candidate token predicts it
        positions = torch.arange(prompt_len - 1, prompt_len - 1 + len(cand), device=device)
        logp = _head(model, hidden[row, positions])
        targets = torch.tensor(cand, device=device)
        scores[row] = logp[torch.arange(len(cand), device=device), targets].sum()
    return scores.view(len(prompts), n_cands)
