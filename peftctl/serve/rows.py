"""One request's answer as its tokens come: the text sent to its client so far, and when it is
done (end of sequence, a stop string, ``max_tokens``, or the client gone)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


class RowText:
    """The answer of ``job`` (a :class:`peftctl.serve.engine.Job`) token by token."""

    def __init__(self, job: Any, tokenizer: Any) -> None:
        self.job, self.tokenizer = job, tokenizer
        self.eos = None if job.sampling.ignore_eos else tokenizer.eos_token_id
        self.tokens: list[int] = []
        self.sent = ""
        self.done = False
        seed = job.sampling.seed
        self.generator = None if seed is None else torch.Generator().manual_seed(seed)

    def add(self, token: int) -> None:
        """Take the next token: stream the text it completes, or end the answer."""
        if self.done:
            return
        if self.job.cancelled.is_set():
            self.done = True
            return
        if token == self.eos:
            self.finish("stop")
            return
        self.tokens.append(token)
        text = self.tokenizer.decode(self.tokens, skip_special_tokens=True)
        cut = first_stop(text, self.job.stop)
        if cut is not None:
            self._send(text[:cut])
            self.finish("stop", flush=False)
        elif len(self.tokens) >= self.job.max_tokens:
            self.finish("length")
        else:
            self._send(text[: len(text) - held_back(text, self.job.stop)])

    def finish(self, reason: str, *, flush: bool = True) -> None:
        """End the answer; ``flush`` sends what was held back (a partial character, the start
        of a stop string that never came)."""
        if flush:
            self._send(self.tokenizer.decode(self.tokens, skip_special_tokens=True))
        self.done = True
        self.job.emit("done", reason, len(self.tokens))

    def _send(self, text: str) -> None:
        if len(text) > len(self.sent) and text.startswith(self.sent):
            self.job.emit("text", text[len(self.sent) :])
            self.sent = text


def first_stop(text: str, stops: Sequence[str]) -> int | None:
    """Where the first stop string in ``text`` starts, if any does."""
    found = [text.find(stop) for stop in stops if stop and stop in text]
    return min(found) if found else None


def held_back(text: str, stops: Sequence[str]) -> int:
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
