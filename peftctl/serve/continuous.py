"""Continuous batching: a lane decodes a batch of one model's requests a token at a time,
and requests join it (and finished ones leave it) between two tokens.

The batch's key/value cache is transformers' ``DynamicCache``; a joining request is prefilled
on its own cache, which is left-padded to the batch's length (or the batch's to its) and
concatenated; a leaving one is dropped from it, and columns no row attends to any more are
cut. Each row keeps its own positions, so padding never shifts them: a batch of one is
``generate``'s greedy path token for token. Used for models whose cache is plain per-layer
keys and values and whose adapters leave the sequence alone (peft's LoRA family, IA3, VeRA,
OFT, ...). Adapters that only put trained embeddings in front of the input (prompt tuning,
P-tuning, MTP: :meth:`~peftctl.api.Method.prompted_embeddings`) are prefilled with them and
then decode in the base's batch, beside the base's own requests. Key/value prefixes and
sliding-window caches use per-request batches (:func:`peftctl.serve.engine.generate_batch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from peftctl.methods.base import causal_lm
from peftctl.models.transformers_compat import cache_kwargs, returned_cache
from peftctl.serve.metrics import ServerMetrics
from peftctl.serve.mixing import BASE_ROW, rows_pick
from peftctl.serve.rows import RowText

#: generation-config fields that change greedy tokens: a model setting them is batched per
#: request, through ``generate``, which applies them
PROCESSORS = (
    "repetition_penalty",
    "no_repeat_ngram_size",
    "bad_words_ids",
    "suppress_tokens",
    "begin_suppress_tokens",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "sequence_bias",
    "encoder_repetition_penalty",
)


def decodes_continuously(model: Any, method: Any) -> bool:
    """Whether ``model`` (with ``method``'s adapter) can be served by :class:`ContinuousLane`:
    an adapter that keeps the sequence, no logits processor in its generation config, and a
    one-token pass that returns a cache of plain growing layers."""
    from transformers.cache_utils import DynamicLayer

    if method is not None and (method.changes_sequence or method.generation_kwargs(1)):
        return False
    config = getattr(model, "generation_config", None)
    if any(getattr(config, name, None) not in (None, 1.0, 0, [], {}) for name in PROCESSORS):
        return False
    lm = causal_lm(model)
    ids = torch.zeros((1, 1), dtype=torch.long, device=next(model.parameters()).device)
    with torch.inference_mode():
        cache = returned_cache(
            lm(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True)
        )
    layers = getattr(cache, "layers", None)
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


def prompts_only(model: Any, method: Any) -> bool:
    """Whether ``method``'s adapter on ``model`` only puts embeddings in front of the input, so
    its requests can decode in the base's batch after their prefill."""
    if method is None:
        return False
    ids = torch.zeros((1, 1), dtype=torch.long, device=next(model.parameters()).device)
    with torch.inference_mode():
        return method.prompted_embeddings(model, ids) is not None


@dataclass
class _Batch:
    """The running batch: per row its text, next position and last token; the shared cache
    and attention mask (``[rows, cached tokens]``)."""

    rows: list[RowText] = field(default_factory=list)
    cache: Any = None
    mask: torch.Tensor | None = None
    positions: torch.Tensor | None = None
    last: torch.Tensor | None = None


class ContinuousLane:
    """The running batch of one model: each :meth:`advance` is one forward pass, the prefill
    of requests joining it or the next token of every row (the engine's loop advances every
    lane in turn)."""

    def __init__(self, model: Any, tokenizer: Any, metrics: ServerMetrics, max_batch: int) -> None:
        self.model, self.lm = model, causal_lm(model)
        self.tokenizer, self.metrics, self.max_batch = tokenizer, metrics, max_batch
        self.device = next(model.parameters()).device
        self.batch = _Batch()

    @property
    def room(self) -> int:
        """How many more requests may join."""
        return self.max_batch - len(self.batch.rows)

    @property
    def active(self) -> bool:
        return bool(self.batch.rows)

    def advance(self, joining: list) -> None:
        """Prefill ``joining`` (the batch waits a token), or else decode a token for every
        row; finished rows leave. A failure is told to every request of the batch, which
        ends (the server keeps running)."""
        try:
            with torch.inference_mode():
                if joining:
                    self._admit(joining)
                elif self.batch.rows:
                    self._step()
                self._drop_finished()
        except Exception as error:  # told to each client; the server lives on
            waiting = [*joining, *(row.job for row in self.batch.rows if not row.done)]
            for job in waiting:
                job.emit("error", f"generation failed: {type(error).__name__}: {error}")
            self.batch = _Batch()

    # -- the two kinds of forward pass -----------------------------------------------------
    def _admit(self, jobs: list) -> None:
        """Prefill ``jobs`` (left-padded), pick their first tokens, join them to the batch."""
        from transformers import DynamicCache

        inputs, lengths = self._inputs(jobs)
        width = max(lengths)
        mask = (torch.arange(width) >= torch.tensor([[width - n] for n in lengths])).long()
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with rows_pick(self.model, [_adapter(job) for job in jobs]):
            out = self.lm(
                **inputs,
                attention_mask=mask.to(self.device),
                position_ids=positions.to(self.device),
                use_cache=True,
                **cache_kwargs(self.lm, DynamicCache()),
            )
        rows = [RowText(job, self.tokenizer) for job in jobs]
        tokens = pick(out.logits[:, -1].float(), rows, self.tokenizer.eos_token_id)
        self._join(rows, returned_cache(out), mask.to(self.device), positions[:, -1] + 1, tokens)
        for row, token in zip(rows, tokens.tolist(), strict=True):
            row.add(token)

    def _inputs(self, jobs: list) -> tuple[dict[str, torch.Tensor], list[int]]:
        """The prefill's left-padded ``input_ids`` (or ``inputs_embeds`` where a request's
        adapter puts embeddings in front of its prompt) and each row's length."""
        ids = [torch.tensor(job.prompt_ids, device=self.device) for job in jobs]
        prompted = [_prompted(job, row) for job, row in zip(jobs, ids, strict=True)]
        if all(p is None for p in prompted):
            pad, width = self.tokenizer.pad_token_id, max(len(row) for row in ids)
            rows = [nn.functional.pad(row, (width - len(row), 0), value=pad) for row in ids]
            return {"input_ids": torch.stack(rows)}, [len(row) for row in ids]
        rows = [
            self._embed(job, row) if p is None else p
            for job, row, p in zip(jobs, ids, prompted, strict=True)
        ]
        width = max(len(row) for row in rows)
        padded = [nn.functional.pad(row, (0, 0, width - len(row), 0)) for row in rows]
        return {"inputs_embeds": torch.stack(padded)}, [len(row) for row in rows]

    def _embed(self, job: Any, ids: torch.Tensor) -> torch.Tensor:
        """``ids``' input embeddings as ``job``'s model computes them (a mixed LoRA adapter
        may adapt the embedding layer too)."""
        with rows_pick(self.model, [_adapter(job)]):
            return self.lm.get_input_embeddings()(ids[None])[0]

    def _step(self) -> None:
        batch = self.batch
        mask = torch.cat([batch.mask, batch.mask.new_ones(len(batch.rows), 1)], dim=1)
        with rows_pick(self.model, [_adapter(row.job) for row in batch.rows]):
            out = self.lm(
                input_ids=batch.last[:, None],
                attention_mask=mask,
                position_ids=batch.positions[:, None],
                use_cache=True,
                **cache_kwargs(self.lm, batch.cache),
            )
        self.metrics.batch_size.observe(len(batch.rows))
        batch.cache, batch.mask, batch.positions = returned_cache(out), mask, batch.positions + 1
        batch.last = pick(out.logits[:, -1].float(), batch.rows, self.tokenizer.eos_token_id)
        for row, token in zip(batch.rows, batch.last.tolist(), strict=True):
            row.add(token)

    # -- the batch's cache -----------------------------------------------------------------
    def _join(self, rows: list[RowText], cache: Any, mask, positions, tokens) -> None:
        batch = self.batch
        positions, tokens = positions.to(self.device), tokens.to(self.device)
        if not batch.rows:
            self.batch = _Batch(rows, cache, mask, positions, tokens)
            return
        width = max(batch.mask.shape[1], mask.shape[1])
        for old, new in zip(batch.cache.layers, cache.layers, strict=True):
            old.keys = torch.cat([_left_pad(old.keys, width), _left_pad(new.keys, width)])
            old.values = torch.cat([_left_pad(old.values, width), _left_pad(new.values, width)])
        batch.mask = torch.cat([_left_pad_mask(batch.mask, width), _left_pad_mask(mask, width)])
        batch.positions = torch.cat([batch.positions, positions])
        batch.last = torch.cat([batch.last, tokens])
        batch.rows += rows

    def _drop_finished(self) -> None:
        """Take finished rows out of the batch (and columns no row attends to); count the
        tokens they generated."""
        batch = self.batch
        keep = [i for i, row in enumerate(batch.rows) if not row.done]
        for row in batch.rows:
            if row.done:
                self.metrics.record_tokens(row.job.model, len(row.tokens))
        if len(keep) == len(batch.rows):
            return
        if not keep:
            self.batch = _Batch()
            return
        index = torch.tensor(keep, device=self.device)
        batch.cache.batch_select_indices(index)
        batch.mask, batch.positions, batch.last = (
            batch.mask[index],
            batch.positions[index],
            batch.last[index],
        )
        batch.rows = [batch.rows[i] for i in keep]
        unused = int((batch.mask.sum(0) == 0).long().cumprod(0).sum())  # leading empty columns
        if unused:
            for layer in batch.cache.layers:
                layer.keys, layer.values = (
                    layer.keys[..., unused:, :],
                    layer.values[..., unused:, :],
                )
            batch.mask = batch.mask[:, unused:]


def _adapter(job: Any) -> str:
    """The mixed LoRA adapter ``job``'s row uses (:mod:`peftctl.serve.mixing`)."""
    return job.served.name if job.served is not None and job.served.mixed else BASE_ROW


def _prompted(job: Any, ids: torch.Tensor) -> torch.Tensor | None:
    """The embeddings of ``job``'s prompt with its adapter's in front; None for a request on
    the lane's own model."""
    served = job.served
    if served is None or served.decode_on is None or served.mixed:
        return None
    return served.method.prompted_embeddings(served.model, ids[None])[0]


def pick(logits: torch.Tensor, rows: list[RowText], eos: int | None) -> torch.Tensor:
    """Each row's next token: greedy at temperature 0, else sampled (top-p) with the row's own
    generator; never eos for a row that ignores it."""
    for i, row in enumerate(rows):
        if row.job.sampling.ignore_eos and eos is not None:
            logits[i, eos] = float("-inf")
    tokens = logits.argmax(-1)
    for i, row in enumerate(rows):
        sampling = row.job.sampling
        if sampling.temperature > 0:
            tokens[i] = _sample(logits[i] / sampling.temperature, sampling.top_p, row.generator)
    return tokens


def _sample(logits: torch.Tensor, top_p: float, generator: torch.Generator | None) -> torch.Tensor:
    probs = torch.softmax(logits, dim=-1)
    if top_p < 1.0:
        ordered, order = probs.sort(descending=True)
        outside = ordered.cumsum(-1) - ordered > top_p  # the smallest set reaching top_p stays
        probs = probs.scatter(0, order, ordered.masked_fill(outside, 0.0))
    return torch.multinomial(probs.cpu(), 1, generator=generator)[0].to(logits.device)


def _left_pad(states: torch.Tensor, width: int) -> torch.Tensor:
    missing = width - states.shape[-2]
    if not missing:
        return states
    shape = (*states.shape[:-2], missing, states.shape[-1])
    return torch.cat([states.new_zeros(shape), states], dim=-2)


def _left_pad_mask(mask: torch.Tensor, width: int) -> torch.Tensor:
    missing = width - mask.shape[1]
    return torch.cat([mask.new_zeros(mask.shape[0], missing), mask], dim=1) if missing else mask
