"""What a bench run shows while it works: cells done/failed/running and an ETA measured from
the cells that finished. A rich live bar on a terminal, one line per cell otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any


class BenchProgress:
    """Counts cells and prints a line for each that ends; ``parallel`` cells run at once."""

    def __init__(self, total: int, parallel: int, *, quiet: bool = False) -> None:
        self.total, self.parallel, self.quiet = total, max(parallel, 1), quiet
        self.done = self.failed = 0
        self.running: set[str] = set()
        self.seconds: list[float] = []
        self._started = time.perf_counter()
        self._bar: Any = None
        self._task: Any = None
        if not quiet and sys.stderr.isatty():
            self._start_bar()

    def started(self, name: str) -> None:
        self.running.add(name)
        self._refresh()

    def finished(self, name: str, status: str, seconds: float, detail: str) -> None:
        """Cell ``name`` ended with ``status`` (finished/failed) after ``seconds``."""
        self.running.discard(name)
        if status == "finished":
            self.done += 1
            self.seconds.append(seconds)
        else:
            self.failed += 1
        if not self.quiet:
            count = self.done + self.failed
            line = f"[{count}/{self.total}] {status} {name} ({seconds:.0f} s){detail}"
            self._print(line)
        self._refresh(advance=1)

    def eta_seconds(self) -> float | None:
        """Remaining cells x mean measured cell time / cells run at once (None: no data)."""
        if not self.seconds:
            return None
        left = self.total - self.done - self.failed
        return sum(self.seconds) / len(self.seconds) * left / self.parallel

    def summary(self) -> str:
        eta = self.eta_seconds()
        eta_text = f", ETA {_duration(eta)}" if eta is not None else ""
        return f"done {self.done}, failed {self.failed}, running {len(self.running)}{eta_text}"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._bar = Progress(
            TextColumn("[bold]bench"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[summary]}"),
            console=Console(file=sys.stderr),
            transient=True,
        )
        self._task = self._bar.add_task("bench", total=self.total, summary=self.summary())
        self._bar.start()

    def _refresh(self, advance: int = 0) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=advance, summary=self.summary())

    def _print(self, line: str) -> None:
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
