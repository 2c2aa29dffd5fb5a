"""What a run shows and records while it trains: a rich progress bar and ``log.jsonl``."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from peftctl.atomic import write_jsonl_atomic

FLUSH_SECONDS = 10.0


class RunLog:
    """Records of logged steps, rewritten atomically to ``log.jsonl`` (a killed run keeps a
    complete file) at most every few seconds and whenever :meth:`flush` is called."""

    def __init__(
        self,
        path: Path | None,
        records: list[dict[str, Any]] | None = None,
        sink: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = list(records or [])
        self._sink = sink  # also sends each record elsewhere (experiment trackers)
        self._last_flush = time.monotonic()

    def add(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if self._sink is not None:
            self._sink(record)
        if time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.path is not None:
            write_jsonl_atomic(self.path, self.records)
        self._last_flush = time.monotonic()


class Progress:
    """A progress bar with step, loss, lr, tokens/s and ETA; silent when ``quiet``."""

    def __init__(self, total: int, start: int = 0, *, quiet: bool = False) -> None:
        self._bar = None
        if quiet:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  lr {task.fields[lr]}  {task.fields[tps]} tok/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._task = self._bar.add_task(
            "train", total=total, completed=start, loss="-", lr="-", tps="-"
        )
        self._bar.start()

    def update(self, step: int, loss: float, lr: float, tokens_per_s: float) -> None:
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=step,
                loss=f"{loss:.4f}",
                lr=f"{lr:.2e}",
                tps=f"{tokens_per_s:,.0f}",
            )

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
