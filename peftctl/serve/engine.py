"""Generation for many clients: requests are queued, and one loop runs every forward pass.

Each model whose requests decode continuously (:mod:`peftctl.serve.continuous`) has a *lane*:
a batch decoded a token at a time that requests join and leave between tokens. The loop
advances every lane by one forward pass in turn, so a long answer never holds back another
model's requests, and the CPU's cores go to one forward pass at a time. A model that cannot
decode continuously gets per-request batches: requests with the same sampling settings, up
to ``max_batch``, left-padded and run through its ``generate`` (the path of ``peftctl
generate``) after waiting ``gather_s`` (50 ms) for others of their group; such a batch runs to
its end before the lanes go on.

Every forward pass runs on the loop's thread: PyTorch's OpenMP pool runs fastest for one
thread that uses it throughout (up to 1.6x on a 2-core CPU than for threads taking turns), and
``peftctl serve`` runs the loop on the main thread, the HTTP server beside it.

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
    """The request queue and the loop that serves it (on its own thread unless ``thread``
    is False: then the caller runs :meth:`run`)."""

    def __init__(
        self,
        models: ServedModels,
        metrics: ServerMetrics,
        *,
        max_batch: int = 8,
        max_queue: int = 256,
        gather_s: float = 0.05,
        thread: bool = True,
    ) -> None:
        self.models, self.metrics = models, metrics
        self.max_batch, self.max_queue, self.gather_s = max_batch, max_queue, gather_s
        self._pending: list[Job] = []
        self._lanes: dict[str, ContinuousLane] = {}
        self._closing = self._stopped = False
        self._changed = threading.Condition()
        if thread:
            threading.Thread(target=self.run, name="peftctl-serve", daemon=True).start()

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

    def request_close(self) -> None:
        """Refuse new requests; the loop ends once the queued and running ones are answered."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()

    def close(self, timeout: float | None = None) -> None:
        """:meth:`request_close`, then wait until the loop has answered everything."""
        self.request_close()
        with self._changed:
            self._changed.wait_for(lambda: self._stopped, timeout)

    def queue_length(self) -> int:
        with self._changed:
            return len(self._pending)

    def decoding(self) -> int:
        """Requests in the lanes' batches now."""
        with self._changed:
            return sum(len(lane.batch.rows) for lane in self._lanes.values())

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> None:
        """Run forward passes until :meth:`request_close` and nothing is left to answer."""
        while True:
            with self._changed:
                self._changed.wait_for(self._has_work, timeout=self.gather_s)
                if self._closing and not self._pending and not self._lanes:
                    self._stopped = True
                    self._changed.notify_all()
                    return
                joining = self._join_lanes()
                batch = self._generate_batch()
                lanes = list(self._lanes.items())
                self.metrics.queue_length.set(len(self._pending))
            for name, lane in lanes:
                with self.models.compute:
                    lane.advance(joining.get(name, []))
            if batch is not None:
                with self.models.compute:
                    self._generate(*batch)
            with self._changed:
                self._lanes = {name: lane for name, lane in self._lanes.items() if lane.active}

    def _has_work(self) -> bool:
        """Whether a pass of the loop would do something (a gathering group waits)."""
        if self._lanes or self._closing or len(self._pending) >= self.max_batch:
            return True
        return any(job.served.in_lane or self._gathered(job) for job in self._pending)

    def _join_lanes(self) -> dict[str, list[Job]]:
        """Queued requests for continuous lanes, oldest first, as many as each lane has room
        for (a lane is opened for a model that has none). Called with the lock held."""
        self._pending = [job for job in self._pending if not job.cancelled.is_set()]
        joining: dict[str, list[Job]] = {}
        for job in list(self._pending):
            if self.models.get(job.model) is not job.served:
                job.emit("error", f"model '{job.model}' was unloaded")
                self._pending.remove(job)
                continue
            owner = self.models.get(job.served.lane_name)
            if owner is None or not owner.continuous:
                continue
            lane = self._lanes.get(owner.name)
            if lane is not None and lane.model is not owner.model:
                continue  # the lane's model was replaced (the LoRA mix): the next lane has it
            if lane is None:
                tokenizer = self.models.tokenizer
                lane = ContinuousLane(owner.model, tokenizer, self.metrics, self.max_batch)
                self._lanes[owner.name] = lane
            taken = joining.setdefault(owner.name, [])
            if len(taken) < lane.room:
                taken.append(job)
                self._pending.remove(job)
        return joining

    def _generate_batch(self) -> tuple[Served, list[Job]] | None:
        """The oldest per-request group that is full or has gathered long enough, taken
        from the queue; None when none is. Called with the lock held."""
        for job in self._pending:
            if job.served.in_lane:
                continue
            group = _group(job)
            jobs = [j for j in self._pending if _group(j) == group][: self.max_batch]
            if len(jobs) < self.max_batch and not self._gathered(job):
                continue
            self._pending = [j for j in self._pending if j not in jobs]
            return job.served, jobs
        return None

    def _gathered(self, job: Job) -> bool:
        """Whether ``job`` has waited ``gather_s`` for requests of its group to join it (the
        clients of a batch that just ended send their next requests within milliseconds)."""
        return time.monotonic() - job.queued_at >= self.gather_s

    def _generate(self, served: Served, jobs: list[Job]) -> None:
        try:
            generate_batch(served, jobs, self.models.tokenizer, self.metrics)
        except Exception as error:  # reported to each client; the server lives on
            for job in jobs:
                job.emit("error", f"generation failed: {type(error).__name__}: {error}")


def _group(job: Job) -> tuple:
    """What requests must share to be batched: continuously, only the lane's model (sampling
    is per row, a prompt adapter's embeddings go in at the prefill); through ``generate``,
    the model and sampling settings, and for a method that changes the sequence (a key/value
    prefix) the prompt's length: peft drops the position ids of left-padded rows, so padding
    would move the prefix away from the text."""
    served = job.served
    if served.in_lane:
        return (served.lane_name,)
    method = served.method
    length = len(job.prompt_ids) if method is not None and method.changes_sequence else None
    return served.name, job.sampling, length


# -- one batch ---------------------------------------------------------------------------
def generate_batch(served: Served, jobs: list[Job], tokenizer: Any, metrics: ServerMetrics) -> None:
    """Run ``jobs`` (one group) as one left-padded ``generate`` of ``served``'s model."""
    model = served.model
    device = next(model.parameters()).device
    width = max(len(job.prompt_ids) for job in jobs)
    pad = tokenizer.pad_token_id
    ids = torch.tensor([[pad] * (width - len(j.prompt_ids)) + j.prompt_ids for j in jobs])
    mask = torch.tensor([[0] * (width - len(j.prompt_ids)) + [1] * len(j.prompt_ids) for j in jobs])
    rows = Rows(jobs, tokenizer, metrics)
    sampling = jobs[0].sampling
    extra = served.method.generation_kwargs(len(jobs)) if served.method is not None else {}
    longest = max(job.max_tokens for job in jobs)
    if sampling.temperature > 0 and sampling.seed is not None:
        torch.manual_seed(sampling.seed)  # the loop is the only thread drawing
    with torch.inference_mode():
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
