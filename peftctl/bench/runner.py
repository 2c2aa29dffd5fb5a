"""``peftctl bench run``: write the cells' recipes, run the missing ones, report.

Finished cells are skipped; failed and interrupted ones run again (interrupted ones resume
from their latest checkpoint). A cell that fails never stops the others.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peftctl import typed
from peftctl.atomic import write_text_atomic
from peftctl.bench.cells import Cell
from peftctl.bench.spec import BenchSpec
from peftctl.bench.store import BenchDir, now, read_json, set_state
from peftctl.errors import PeftctlError

EXECUTORS = ("local", "ray")


@dataclass
class BenchRun:
    """What one ``bench run`` did."""

    total: int
    skipped: int
    finished: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    cell_seconds: float = 0.0  # the ran cells' worker wall time, summed

    @property
    def overhead(self) -> float:
        """Bench time around the cells, as a fraction of the whole (jobs=1 runs)."""
        return max(self.wall_seconds - self.cell_seconds, 0.0) / max(self.wall_seconds, 1e-9)


def prepare(
    bench: BenchDir, spec: BenchSpec, cells: list[Cell], source: str, overrides: Sequence[str]
) -> None:
    """Write ``bench.json`` and each cell's resolved recipe (what the workers train)."""
    from peftctl.config.recipe import dump_recipe

    previous = read_json(bench.root / "bench.json") or {}
    bench.write_bench(
        {
            "source": source,
            "overrides": list(overrides),
            "spec": typed.to_plain(spec),
            "cells": [cell.identity() for cell in cells],
            "created_at": previous.get("created_at") or now(),
            "updated_at": now(),
        }
    )
    for cell in cells:
        recipe = bench.recipe_path(cell.name)
        if not recipe.is_file():
            write_text_atomic(recipe, dump_recipe(cell.recipe, f"peftctl bench run {source}"))
        state = bench.state_path(cell.name)
        if state.is_file():  # the same cell in a later spec: its modes, lr_swept may differ
            set_state(state, **cell.identity())
        else:
            set_state(state, **cell.identity(), status="missing")


def run_bench(
    bench: BenchDir,
    cells: list[Cell],
    *,
    jobs: int = 1,
    executor: str = "local",
    ray_address: str | None = None,
    cpus_per_cell: int | None = None,
    quiet: bool = False,
) -> BenchRun:
    """Run the cells that have no result yet; returns what happened."""
    from peftctl.bench import executors
    from peftctl.bench.progress import BenchProgress

    started = time.perf_counter()
    todo = _cells_to_run(bench, cells)
    outcome = BenchRun(total=len(cells), skipped=len(cells) - len(todo))
    if not todo:
        return outcome
    threads = cpus_per_cell or max(executors.available_cores() // jobs, 1)
    threads = max(threads, *(cell.processes for cell in cells))  # a CPU per process at least
    parallel = jobs if executor == "local" else len(todo)
    progress = BenchProgress(len(todo), parallel, quiet=quiet)

    def ended(name: str, seconds: float) -> None:
        status = bench.status(name)
        kept = outcome.finished if status == "finished" else outcome.failed
        kept.append(name)
        outcome.cell_seconds += seconds
        progress.finished(name, status, seconds, _detail(bench, name, status))

    try:
        if executor == "ray":
            executors.run_ray(bench, todo, ray_address, threads, progress.started, ended)
        else:
            executors.run_local(bench, todo, jobs, threads, progress.started, ended)
    finally:
        progress.close()
        outcome.wall_seconds = time.perf_counter() - started
    return outcome


def _cells_to_run(bench: BenchDir, cells: list[Cell]) -> list[str]:
    """Names of the cells without a result; a cell another process is running is an error."""
    todo = []
    for cell in cells:
        status = bench.status(cell.name)
        if status == "running":
            pid = bench.read_state(cell.name).get("pid")
            raise PeftctlError(
                f"cell {cell.name} is being run by process {pid}; wait for that `bench run` "
                "to end (or stop it) before starting another on the same --output-dir"
            )
        if status != "finished" or _unfinished_work(cell, read_json(bench.result_path(cell.name))):
            todo.append(cell.name)
    return todo


def _unfinished_work(cell: Cell, result: dict[str, Any] | None) -> bool:
    """Whether a finished cell's result lacks a mode or the deployability it should have
    (the cell then only scores or measures what is missing)."""
    result = result or {}
    return bool(_unscored_modes(cell, result)) or (cell.deploy and "deployability" not in result)


def _unscored_modes(cell: Cell, result: dict[str, Any]) -> list[str]:
    """The modes of ``cell`` its result lacks."""
    scored = {(result.get("eval") or {}).get("mode"), *(result.get("mode_scores") or {})}
    return [mode for mode in cell.modes if mode not in scored]


def _detail(bench: BenchDir, name: str, status: str) -> str:
    """`` test accuracy 0.8312`` for a finished cell, ``: <error>`` for a failed one."""
    if status != "finished":
        return f": {bench.read_state(name).get('error') or status}"
    result = read_json(bench.result_path(name)) or {}
    metric = result.get("primary_metric")
    value = (result.get("test") or {}).get("metrics", {}).get(metric)
    return f", test {metric} {value:.4f}" if isinstance(value, (int, float)) else ""


def default_output_dir(source: str) -> Path:
    """``runs/bench/<spec name>``."""
    return Path("runs") / "bench" / Path(source).stem
