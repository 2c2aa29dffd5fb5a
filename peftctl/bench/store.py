"""The bench output directory and the state of each cell in it. No torch.

Layout of ``DIR``::

    bench.json              the spec as run, and its cells (what `report` and `status` read)
    cells/<cell>/           an ordinary `peftctl train` run directory, plus result.json
    state/<cell>.yaml       the cell's resolved recipe (what the worker trains)
    state/<cell>.json       status, error, attempts, timings
    logs/<cell>.log         the worker's output
    results.csv, summary.*  the report
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from peftctl import locking
from peftctl.atomic import write_json_atomic
from peftctl.errors import PeftctlError
from peftctl.processes import process_alive

BENCH_FILE = "bench.json"
RESULT_FILE = "result.json"


@dataclass(frozen=True)
class BenchDir:
    """Paths of one bench output directory."""

    root: Path

    def run_dir(self, name: str) -> Path:
        return self.root / "cells" / name

    def recipe_path(self, name: str) -> Path:
        return self.root / "state" / f"{name}.yaml"

    def state_path(self, name: str) -> Path:
        return self.root / "state" / f"{name}.json"

    def log_path(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def result_path(self, name: str) -> Path:
        return self.run_dir(name) / RESULT_FILE

    def read_state(self, name: str) -> dict[str, Any]:
        return read_json(self.state_path(name)) or {}

    def status(self, name: str) -> str:
        """finished, failed, running (its worker is alive), interrupted or missing."""
        state = self.read_state(name)
        status = state.get("status")
        if status == "finished" and self.result_path(name).is_file():
            return "finished"
        if status in ("failed", "interrupted"):
            return status
        if status == "running":
            return "running" if _alive(state) else "interrupted"
        return "missing"

    def read_bench(self) -> dict[str, Any]:
        """``bench.json``; a one-line error when ``root`` is not a bench directory."""
        data = read_json(self.root / BENCH_FILE)
        if data is None:
            raise PeftctlError(
                f"{self.root} is not a bench directory (no {BENCH_FILE}); pass the "
                "--output-dir of `peftctl bench run`"
            )
        return data

    def write_bench(self, data: dict[str, Any]) -> None:
        write_json_atomic(self.root / BENCH_FILE, data)


def set_state(path: Path, **fields: Any) -> dict[str, Any]:
    """Update a cell's state file with ``fields`` (atomically); the new state."""
    state = {**(read_json(path) or {}), **fields}
    write_json_atomic(path, state)
    return state


def mark_running(path: Path) -> dict[str, Any]:
    """The state of a cell whose worker starts now, in this process."""
    attempts = int((read_json(path) or {}).get("attempts", 0)) + 1
    return set_state(
        path,
        status="running",
        error=None,
        attempts=attempts,
        started_at=now(),
        host=socket.gethostname(),
        pid=os.getpid(),
    )


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or unreadable (a half-written file
    cannot exist: every write is atomic)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _alive(state: dict[str, Any]) -> bool:
    """Whether the worker that marked a cell running still runs (on this host)."""
    if state.get("host") != socket.gethostname():
        return True  # another machine of a Ray cluster: trust its state
    pid = state.get("pid")
    return isinstance(pid, int) and process_alive(pid)


def cell_records(bench: BenchDir) -> list[dict[str, Any]]:
    """A record per cell of ``bench.json``: its ``result.json`` when finished, else its
    identity, status and error (what the report and ``bench status`` show)."""
    records = []
    for identity in bench.read_bench().get("cells", []):
        name = identity["name"]
        status = bench.status(name)
        result = read_json(bench.result_path(name)) if status == "finished" else None
        if result is not None:
            records.append({**result, "status": "finished"})
            continue
        state = bench.read_state(name)
        records.append({**identity, "status": status, "error": state.get("error")})
    return records


LOCK_FILE = locking.LOCK_FILE


@contextlib.contextmanager
def exclusive(bench: BenchDir) -> Iterator[None]:
    """Hold ``DIR/.lock`` while a ``bench run`` works; a second one is refused in one line."""
    bench.root.mkdir(parents=True, exist_ok=True)
    with locking.exclusive(
        bench.root, "`bench run`", "wait for it to end or choose another --output-dir"
    ):
        yield
