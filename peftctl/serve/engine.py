"""Generation for many clients: requests are queued and run on a few lanes at once.

A lane serves one model. Where the model allows it (:mod:`peftctl.serve.continuous`) the lane
decodes a batch token by token and requests join and leave it between tokens; otherwise a
*batch* is requests with the same sampling settings, up to ``max_batch``, left-padded and run
through the model's ``generate`` (the path of ``peftctl generate``). Each lane has its own
replica of the model (:mod:`peftctl.serve.adapters`), so a long answer occupies one lane while
other requests go through another. The oldest waiting request decides which model a free lane
takes (no model waits behind another forever); a per-request batch first waits ``gather_s``
(50 ms) for others of its group to join it.

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
from peftctl.serve.continuous import ContinuousLane
from peftctl.serve.metrics import ServerMetrics
from peftctl.serve.rows import RowText


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
    served: Served | None = None  # the model it asked for (the engine looks it up if None)
    cancelled: threading.Event = field(default_factory=threading.Event)
    queued_at: float = field(default_factory=time.monotonic)

    def emit(self, kind: str, *payload: Any) -> None:
        """Hand ``(kind, *payload)`` to the request's handler: ``("text", delta)``,
        ``("done", finish_reason, completion_tokens)`` or ``("error", message)``."""
        if self.loop is not None and self.events is not None:
            self.loop.call_soon_threadsafe(self.events.put_nowait, (kind, *payload))


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
            job.served = job.served or self.models.get(job.model)
            if job.served is None:
                raise ValueError(f"model '{job.model}' is not served here")
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
        self._pending = [job for job in self._pending if not job.cancelled.is_set()]
        if self._running >= self.models.lanes:
            return None
        for job in self._pending:
            if self.models.get(job.model) is not job.served:
                job.emit("error", f"model '{job.model}' was unloaded")
                self._pending.remove(job)
                return self._next_batch()
            owner = self.models.get(job.served.lane_name)
            lane = next((i for i, busy in enumerate(owner.busy) if not busy), None)
            if lane is None:
                continue
            group = _group(job)
            jobs = [j for j in self._pending if _group(j) == group][: self.max_batch]
            if not owner.continuous and len(jobs) < self.max_batch and not self._gathered(job):
                continue
            self._pending = [j for j in self._pending if j not in jobs]
            return owner, lane, jobs
        return None

    def _take(self, lane_name: str, room: int) -> list[Job]:
        """Up to ``room`` queued requests decoded on ``lane_name``'s running lane; none while
        a request for another lane waits with every lane busy (it gets the lane next)."""
        with self._changed:
            self._pending = [job for job in self._pending if not job.cancelled.is_set()]
            others = any(job.served.lane_name != lane_name for job in self._pending)
            if room <= 0 or (others and self._running >= self.models.lanes):
                return []
            taken = [job for job in self._pending if job.served.lane_name == lane_name][:room]
            self._pending = [job for job in self._pending if job not in taken]
            self.metrics.queue_length.set(len(self._pending))
            return taken

    def _gathered(self, job: Job) -> bool:
        """Whether ``job`` has waited ``gather_s`` for requests of its group to join it (the
        clients of a batch that just ended send their next requests within milliseconds)."""
        return time.monotonic() - job.queued_at >= self.gather_s

    def _run(self, served: Served, lane: int, jobs: list[Job]) -> None:
        try:
            if served.continuous:
                take = lambda n: self._take(served.name, n)  # noqa: E731
                tokenizer, model = self.models.tokenizer, served.replicas[lane]
                args = (model, served.name, tokenizer, self.metrics, take, self.max_batch)
                ContinuousLane(*args).run(jobs)
            else:
                generate_batch(served, lane, jobs, self.models.tokenizer, self._rng, self.metrics)
        except Exception as error:  # reported to each client; the server lives on
            for job in jobs:
                job.emit("error", f"generation failed: {type(error).__name__}: {error}")
        finally:
            with self._changed:
                served.busy[lane] = False
                self._running -= 1
                self._changed.notify_all()


def _group(job: Job) -> tuple:
    """What requests must share to be batched: continuously, only the lane's model (sampling
    is per row, a prompt adapter's embeddings go in at the prefill); through ``generate``,
    the model and sampling settings, and for a method that changes the sequence (a key/value
    prefix) the prompt's length: peft drops the position ids of left-padded rows, so padding
    would move the prefix away from the text."""
    served = job.served
    if served.decode_on is not None or served.continuous:
        return (served.lane_name,)
    method = served.method
    length = len(job.prompt_ids) if method is not None and method.changes_sequence else None
    return served.name, job.sampling, length


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
    rows = Rows(jobs, tokenizer, metrics)
    sampling = jobs[0].sampling
    extra = served.method.generation_kwargs(len(jobs)) if served.method is not None else {}
    longest = max(job.max_tokens for job in jobs)
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
    metrics.record_tokens(served.name, rows.generated)


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
    """The streamer of one ``generate`` batch: hands each row's new token to its
    :class:`RowText`; ``done`` says which rows :class:`RowsDone` stops."""

    def __init__(self, jobs: list[Job], tokenizer: Any, metrics: ServerMetrics) -> None:
        self.rows = [RowText(job, tokenizer) for job in jobs]
        self.metrics = metrics
        self.prompt_seen = False

    @property
    def done(self) -> list[bool]:
        return [row.done for row in self.rows]

    @property
    def generated(self) -> int:
        return sum(len(row.tokens) for row in self.rows)

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # generate first hands over the prompt
            self.prompt_seen = True
            return
        self.metrics.batch_size.observe(sum(not done for done in self.done))
        tokens = value.reshape(len(self.rows), -1)[:, -1].tolist()
        for row, token in zip(self.rows, tokens, strict=True):
            row.add(token)

    def end(self) -> None:
        for row in self.rows:
            if not row.done:
                row.finish("length")


class RowsDone(StoppingCriteria):
    """Per row: True once :class:`Rows` has finished it, so ``generate`` pads it from then."""

    def __init__(self, rows: Rows) -> None:
        self.rows = rows

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        return torch.tensor(self.rows.done, dtype=torch.bool, device=input_ids.device)
