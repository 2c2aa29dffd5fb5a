"""Generation for many clients: requests are queued, batched and run on a few lanes at once.

A *batch* is requests for the same model with the same sampling settings, up to
``max_batch``, left-padded and run through the model's ``generate`` (the path of
``peftctl generate``: a batch of one gives its exact tokens). Up to ``lanes`` batches run at
the same time, each on its own replica of the model (:mod:`peftctl.serve.adapters`), so a long
answer occupies one lane while short ones go through another. The oldest waiting request
decides which batch runs next (no model or setting waits behind another forever), once it
has waited ``gather_s`` (50 ms) for others of its group to join it.

Each request streams its text as it is generated; a row stops at the end-of-sequence token,
a stop string, its ``max_tokens``, or when its client has gone (its slot is freed at once).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from peftctl.serve.adapters import Served, ServedModels
from peftctl.serve.metrics import ServerMetrics


class Overloaded(Exception):
    """The queue is full (or the server is shutting down): the client should retry later."""


@dataclass(frozen=True)
class Sampling:
    """How tokens are picked (greedy at temperature 0; a seed makes sampling repeatable), and
    whether the end-of-sequence token ends an answer (vLLM's ``ignore_eos``)."""

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    ignore_eos: bool = False

    def generate_kwargs(self, max_new_tokens: int) -> dict[str, Any]:
        picking: dict[str, Any] = {"do_sample": False, "temperature": None, "top_p": None}
        if self.temperature > 0:
            picking = {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p}
        # the end-of-sequence token is never picked before max_new_tokens
        return {
            **picking,
            "top_k": None,
            "min_new_tokens": max_new_tokens if self.ignore_eos else None,
        }


@dataclass(eq=False)
class Job:
    """One request: its prompt, limits and where its text goes (an asyncio queue)."""

    model: str
    prompt_ids: list[int]
    max_tokens: int
    sampling: Sampling = Sampling()
    stop: Sequence[str] = ()
    loop: asyncio.AbstractEventLoop | None = None
    events: asyncio.Queue | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    queued_at: float = field(default_factory=time.monotonic)

    def emit(self, kind: str, *payload: Any) -> None:
        """Hand ``(kind, *payload)`` to the request's handler: ``("text", delta)``,
        ``("done", finish_reason, completion_tokens)`` or ``("error", message)``."""
        if self.loop is not None and self.events is not None:
            self.loop.call_soon_threadsafe(self.events.put_nowait, (kind, *payload))

    @property
    def group(self) -> tuple[str, Sampling]:
        return self.model, self.sampling


class Engine:
    """The request queue and the lanes that serve it."""

    def __init__(
        self,
        models: ServedModels,
        metrics: ServerMetrics,
        *,
        max_batch: int = 8,
        max_queue: int = 256,
        gather_s: float = 0.05,
    ) -> None:
        self.models, self.metrics = models, metrics
        self.max_batch, self.max_queue, self.gather_s = max_batch, max_queue, gather_s
        self._pending: list[Job] = []
        self._running = 0
        self._closing = False
        self._changed = threading.Condition()
        self._rng = threading.Lock()  # sampling draws from torch's global generator
        self._scheduler = threading.Thread(target=self._schedule, name="peftctl-serve", daemon=True)
        self._scheduler.start()

    def submit(self, job: Job) -> None:
        """Queue ``job``; :class:`Overloaded` when the queue is full or the server closing."""
        with self._changed:
            if self._closing:
                raise Overloaded("the server is shutting down")
            if len(self._pending) >= self.max_queue:
                raise Overloaded(f"{len(self._pending)} requests are waiting; retry later")
            self._pending.append(job)
            self.metrics.queue_length.set(len(self._pending))
            self._changed.notify_all()

    def close(self, timeout: float | None = None) -> None:
        """Refuse new requests and wait until the queued and running ones are answered."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            self._changed.wait_for(lambda: not self._pending and not self._running, timeout)

    def queue_length(self) -> int:
        with self._changed:
            return len(self._pending)

    # -- scheduling ------------------------------------------------------------------------
    def _schedule(self) -> None:
        while True:
            with self._changed:
                picked = self._changed.wait_for(self._next_batch, timeout=self.gather_s)
                if picked is None:  # a group still gathering: look again shortly
                    continue
                served, lane, jobs = picked
                self._running += 1
                served.busy[lane] = True
                self.metrics.queue_length.set(len(self._pending))
            threading.Thread(
                target=self._run, args=(served, lane, jobs), name="peftctl-lane", daemon=True
            ).start()

    def _next_batch(self) -> tuple[Served, int, list[Job]] | None:
        """(model, free replica, jobs) for the oldest waiting request whose model has a free
        replica, with the requests of its group that fit; None when nothing can run now.
        Called with the lock held."""
        self._pending = [job for job in self._pending if not self._drop_if_gone(job)]
        if self._running >= self.models.lanes:
            return None
        for job in self._pending:
            served = self.models.get(job.model)
            if served is None:
                job.emit("error", f"model '{job.model}' was unloaded")
                self._pending.remove(job)
                return self._next_batch()
            lane = next((i for i, busy in enumerate(served.busy) if not busy), None)
            jobs = [j for j in self._pending if j.group == job.group][: self.max_batch]
            if lane is None or (len(jobs) < self.max_batch and not self._gathered(job)):
                continue
            self._pending = [j for j in self._pending if j not in jobs]
            return served, lane, jobs
        return None

    def _gathered(self, job: Job) -> bool:
        """Whether ``job`` has waited ``gather_s`` for requests of its group to join it (the
        clients of a batch that just ended send their next requests within milliseconds)."""
        return time.monotonic() - job.queued_at >= self.gather_s

    @staticmethod
    def _drop_if_gone(job: Job) -> bool:
        return job.cancelled.is_set()

    def _run(self, served: Served, lane: int, jobs: list[Job]) -> None:
        try:
            generate_batch(served, lane, jobs, self.models.tokenizer, self._rng, self.metrics)
        except Exception as error:  # reported to each client; the server lives on
            for job in jobs:
                job.emit("error", f"generation failed: {type(error).__name__}: {error}")
        finally:
            with self._changed:
                served.busy[lane] = False
                self._running -= 1
                self._changed.notify_all()


# -- one batch ---------------------------------------------------------------------------
def generate_batch(
    served: Served,
    lane: int,
    jobs: list[Job],
    tokenizer: Any,
    rng: threading.Lock,
    metrics: ServerMetrics,
) -> None:
    """Run ``jobs`` (one group) as one left-padded ``generate`` on replica ``lane``."""
    model = served.replicas[lane]
    device = next(model.parameters()).device
    width = max(len(job.prompt_ids) for job in jobs)
    pad = tokenizer.pad_token_id
    ids = torch.tensor([[pad] * (width - len(j.prompt_ids)) + j.prompt_ids for j in jobs])
    mask = torch.tensor([[0] * (width - len(j.prompt_ids)) + [1] * len(j.prompt_ids) for j in jobs])
    rows = Rows(jobs, tokenizer)
    sampling = jobs[0].sampling
    extra = served.method.generation_kwargs(len(jobs)) if served.method is not None else {}
    longest = max(job.max_tokens for job in jobs)
    started = time.monotonic()
    with torch.inference_mode(), _seeded(sampling, rng):
        model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            max_new_tokens=longest,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=pad,
            streamer=rows,
            stopping_criteria=StoppingCriteriaList([RowsDone(rows)]),
            **sampling.generate_kwargs(longest),
            **{key: value.to(device) for key, value in extra.items()},
        )
    rows.end()
    metrics.record_batch(served.name, len(jobs), rows.generated, time.monotonic() - started)


class _seeded:
    """Holds the sampling lock (and seeds torch) for a sampled batch; nothing for greedy."""

    def __init__(self, sampling: Sampling, rng: threading.Lock) -> None:
        self.sampling, self.rng = sampling, rng

    def __enter__(self) -> None:
        if self.sampling.temperature > 0:
            self.rng.acquire()
            if self.sampling.seed is not None:
                torch.manual_seed(self.sampling.seed)

    def __exit__(self, *exc: object) -> None:
        if self.sampling.temperature > 0:
            self.rng.release()


class Rows(BaseStreamer):
    """The streamer of one batch: turns each row's new token into text for its client, and
    decides when a row is done (end of sequence, a stop string, max_tokens, client gone)."""

    def __init__(self, jobs: list[Job], tokenizer: Any) -> None:
        self.jobs, self.tokenizer = jobs, tokenizer
        self.eos = tokenizer.eos_token_id
        self.tokens: list[list[int]] = [[] for _ in jobs]
        self.sent = [""] * len(jobs)
        self.done = [False] * len(jobs)
        self.prompt_seen = False
        self.generated = 0

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # generate first hands over the prompt
            self.prompt_seen = True
            return
        for row, token in enumerate(value.reshape(len(self.jobs), -1)[:, -1].tolist()):
            if not self.done[row]:
                self._step(row, token)

    def end(self) -> None:
        for row, done in enumerate(self.done):
            if not done:
                self._finish(row, "length")

    def _step(self, row: int, token: int) -> None:
        job = self.jobs[row]
        if job.cancelled.is_set():
            self.done[row] = True
            return
        if token == self.eos:
            self._finish(row, "stop")
            return
        self.tokens[row].append(token)
        self.generated += 1
        text = self.tokenizer.decode(self.tokens[row], skip_special_tokens=True)
        cut = _first_stop(text, job.stop)
        if cut is not None:
            self._send(row, text[:cut])
            self._finish(row, "stop")
        elif len(self.tokens[row]) >= job.max_tokens:
            self._send(row, text)
            self._finish(row, "length")
        else:
            self._send(row, text[: len(text) - _held_back(text, job.stop)])

    def _send(self, row: int, text: str) -> None:
        if len(text) > len(self.sent[row]) and text.startswith(self.sent[row]):
            self.jobs[row].emit("text", text[len(self.sent[row]) :])
            self.sent[row] = text

    def _finish(self, row: int, reason: str) -> None:
        self.done[row] = True
        self.jobs[row].emit("done", reason, len(self.tokens[row]))


class RowsDone(StoppingCriteria):
    """Per row: True once :class:`Rows` has finished it, so ``generate`` pads it from then."""

    def __init__(self, rows: Rows) -> None:
        self.rows = rows

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        return torch.tensor(self.rows.done, dtype=torch.bool, device=input_ids.device)


def _first_stop(text: str, stops: Sequence[str]) -> int | None:
    """Where the first stop string in ``text`` starts, if any does."""
    found = [text.find(stop) for stop in stops if stop and stop in text]
    return min(found) if found else None


def _held_back(text: str, stops: Sequence[str]) -> int:
    """How many characters at the end of ``text`` must wait: an unfinished character (the
    replacement mark of a partial UTF-8 sequence), or the start of a stop string."""
    if text.endswith("\ufffd"):
        return 1
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:size]):
                longest = max(longest, size)
                break
    return longest
