"""Rank classification: score every verbalizer as a continuation of the prompt.

A candidate's score is the sum of its tokens' log-probabilities given the prompt (optionally
divided by its length). The prompt is run once per example; its KV cache is then shared by
all candidates, which are scored together in one batched forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from peftctl.evaluation.generation import left_pad, length_sorted_batches


@torch.inference_mode()
def rank(
    model: torch.nn.Module,
    prompts: Sequence[Sequence[int]],
    candidates: Sequence[Sequence[int]],
    *,
    pad_token_id: int,
    batch_size: int = 16,
    length_normalise: bool = False,
    reuse_prompt: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> list[list[float]]:
    """Log-likelihood of each candidate continuation for each prompt: ``[n_prompts][n_cands]``.

    ``reuse_prompt=False`` scores each prompt+candidate sequence in full (needed for models
    whose forward pass prepends virtual tokens, such as prompt tuning); both give the same
    scores up to floating-point noise.
    """
    scorer = _score_with_shared_prompt if reuse_prompt else _score_full_sequences
    scores: list[list[float]] = [[] for _ in prompts]
    for batch in length_sorted_batches([len(p) for p in prompts], batch_size):
        totals = scorer(model, [prompts[i] for i in batch], candidates, pad_token_id)
        if length_normalise:
            totals = totals / torch.tensor([len(c) for c in candidates], dtype=totals.dtype)
        for index, row in zip(batch, totals.tolist(), strict=True):
            scores[index] = row
        if on_batch is not None:
            on_batch(len(batch))
    return scores


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _candidate_block(candidates: Sequence[Sequence[int]], pad_token_id: int):
    """Right-padded candidate ids [K, L] and their mask."""
    width = max(len(c) for c in candidates)
    ids = torch.full((len(candidates), width), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(candidates), width), dtype=torch.long)
    for row, cand in enumerate(candidates):
        ids[row, : len(cand)] = torch.tensor(cand, dtype=torch.long)
        mask[row, : len(cand)] = 1
    return ids, mask


def _score_with_shared_prompt(model, prompts, candidates, pad_token_id) -> torch.Tensor:
    device = _device(model)
    n_prompts, n_cands = len(prompts), len(candidates)
    prompt_ids, prompt_mask = (t.to(device) for t in left_pad(prompts, pad_token_id))
    prompt_positions = (prompt_mask.cumsum(dim=1) - 1).clamp(min=0)
    out = model(
        input_ids=prompt_ids,
        attention_mask=prompt_mask,
        position_ids=prompt_positions,
        use_cache=True,
    )
    first_logp = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)  # [B, V]

    cand_ids, cand_mask = (t.to(device) for t in _candidate_block(candidates, pad_token_id))
    # score of each candidate's first token comes straight from the prompt's last position
    total = first_logp[:, cand_ids[:, 0]]  # [B, K]
    if cand_ids.shape[1] == 1:
        return total.cpu()

    cache = out.past_key_values
    cache.batch_repeat_interleave(n_cands)  # [B*K] rows, prompt b repeated K times
    ids = cand_ids[:, :-1].repeat(n_prompts, 1)  # feed all but the last candidate token
    step_mask = cand_mask[:, :-1].repeat(n_prompts, 1)
    full_mask = torch.cat([prompt_mask.repeat_interleave(n_cands, dim=0), step_mask], dim=1)
    start = prompt_mask.sum(dim=1).repeat_interleave(n_cands)  # real prompt lengths
    positions = start[:, None] + torch.arange(ids.shape[1], device=device)[None, :]
    logits = model(
        input_ids=ids, attention_mask=full_mask, position_ids=positions, past_key_values=cache
    ).logits.float()
    logp = torch.log_softmax(logits, dim=-1)
    targets = cand_ids[:, 1:].repeat(n_prompts, 1)
    picked = logp.gather(-1, targets[..., None]).squeeze(-1) * cand_mask[:, 1:].repeat(n_prompts, 1)
    return (total + picked.sum(dim=1).view(n_prompts, n_cands)).cpu()


def _score_full_sequences(model, prompts, candidates, pad_token_id) -> torch.Tensor:
    device = _device(model)
    n_cands = len(candidates)
    rows = [list(p) + list(c) for p in prompts for c in candidates]
    ids, mask = (t.to(device) for t in left_pad(rows, pad_token_id))
    logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
    scores = torch.empty(len(rows))
    width = ids.shape[1]
    for row in range(len(rows)):
        cand = candidates[row % n_cands]
        positions = torch.arange(width - len(cand), width, device=device)
        targets = torch.tensor(cand, device=device)
        scores[row] = logp[row, positions - 1, targets].sum()
    return scores.view(len(prompts), n_cands)
