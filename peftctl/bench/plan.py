"""``peftctl bench plan``: each cell's time and peak memory, estimated from a short probe.

A probe is a real worker run of the cell's recipe cut to a few steps and a few eval
examples, so it measures what the cell will do on this machine: start-up and model load,
seconds per step (steps after the first), eval examples per second, forgetting and peak
memory. Cells that share everything but seed, lr and budget share a probe. Probes are
cached in ``DIR/probes/``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peftctl import typed
from peftctl.atomic import write_json_atomic, write_text_atomic
from peftctl.bench.cells import Cell
from peftctl.bench.store import BenchDir, read_json, set_state

PROBE_STEPS = 4
PROBE_EVAL = 8
_GB = 1024**3


@dataclass
class Total:
    """The plan's total."""

    cells: int
    to_run: int
    minutes: float | None
    peak_gb: float | None
    jobs: int

    def line(self) -> str:
        if self.to_run == 0:
            return "nothing to run"
        if self.minutes is None:
            return "no estimate yet (`peftctl bench plan` measures one)"
        return (
            f"estimate {self.minutes:.1f} min for {self.to_run} cells with {self.jobs} job(s), "
            f"peak {self.peak_gb or 0:.2f} GB per cell"
        )


def probe_key(cell: Cell) -> str:
    """What a cell's cost depends on: its recipe less seed, lr, budget and sample counts."""
    plain = typed.to_plain(cell.recipe)
    for section, key in _COST_FREE:
        (plain[section] if section else plain).pop(key, None)
    if len(cell.modes) > 1:  # each further mode is scored too
        plain["modes"] = list(cell.modes)
    text = json.dumps(plain, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


_COST_FREE = (
    ("", "seed"),
    ("", "output_dir"),
    ("train", "lr"),
    ("train", "max_steps"),
    ("train", "epochs"),
    ("train", "save_every"),
    ("dataset", "max_train_samples"),
    ("dataset", "max_eval_samples"),
    ("dataset", "data_dir"),
)


def probe_missing(bench: BenchDir, cells: list[Cell], *, quiet: bool = False) -> None:
    """Run the probe of every cell that has none cached."""
    from peftctl.bench.executors import available_cores, run_worker

    seen: set[str] = set()
    for cell in cells:
        key = probe_key(cell)
        if key in seen or _probe_path(bench, key).is_file():
            continue
        seen.add(key)
        probes = BenchDir(bench.root / "probes" / key)
        _prepare_probe(probes, cell)
        if not quiet:
            print(f"probing {cell.label} on {cell.dataset} ({PROBE_STEPS} steps)...", flush=True)
        run_worker(str(probes.root), cell.name, available_cores())
        _save_probe(bench, key, probes, cell.name)


def estimate_cells(bench: BenchDir, cells: list[Cell], *, jobs: int = 1):
    """(table rows, :class:`Total`) from the cached probes; cells without one are blank."""
    rows, seconds, peaks, known, to_run = [], 0.0, [], True, 0
    for cell in cells:
        status = bench.status(cell.name)
        probe = read_json(_probe_path(bench, probe_key(cell)))
        row: dict[str, Any] = {"cell": cell.name, "status": status}
        if probe is not None and "error" not in probe:
            steps, secs = cell_estimate(cell, probe)
            row.update(
                {
                    "steps": steps,
                    "s/step": round(probe["step_seconds"], 2),
                    "est. minutes": round(secs / 60, 1),
                    "est. peak GB": round(probe["peak_rss_bytes"] / _GB, 2),
                }
            )
            peaks.append(probe["peak_rss_bytes"] / _GB)
        elif probe is not None:
            row["est. minutes"] = f"probe failed: {probe['error']}"
        if status != "finished":
            to_run += 1
            if probe is None or "error" in probe:
                known = False
            else:
                seconds += secs
        rows.append(row)
    minutes = seconds / 60 / max(jobs, 1) if known else None
    total = Total(len(cells), to_run, minutes, max(peaks) if peaks else None, jobs)
    return rows, total


def cell_estimate(cell: Cell, probe: dict[str, Any]) -> tuple[int, float]:
    """(optimiser steps, seconds) of ``cell`` from its probe's rates."""
    train = cell.recipe.train
    rows = cell.recipe.dataset.max_train_samples or probe["train_rows"]
    rows = min(rows, probe["train_rows"])
    per_step = train.batch_size * train.grad_accum
    steps = train.max_steps or train.epochs * math.ceil(rows / per_step)
    examples = min(cell.recipe.dataset.max_eval_samples or probe["eval_rows"], probe["eval_rows"])
    per_example = probe.get("scoring_seconds_per_example")
    if per_example is None:  # a probe cached by peftctl 0.3.0
        per_example = probe["splits_scored"] / max(probe["eval_examples_per_second"], 1e-9)
    scoring = examples * per_example
    return steps, probe["fixed_seconds"] + steps * probe["step_seconds"] + scoring


def _prepare_probe(probes: BenchDir, cell: Cell) -> None:
    """A one-cell bench directory whose recipe is ``cell``'s, cut short."""
    from peftctl.config.recipe import dump_recipe

    recipe = cell.recipe
    per_step = recipe.train.batch_size * recipe.train.grad_accum
    cut = [
        f"train.max_steps={PROBE_STEPS}",
        "train.save_every=0",
        f"dataset.max_train_samples={PROBE_STEPS * per_step}",
        f"dataset.max_eval_samples={PROBE_EVAL}",
    ]
    from peftctl.config.recipe import build_recipe

    data = typed.to_plain(recipe)
    config = build_recipe(data, cut)
    write_text_atomic(
        probes.recipe_path(cell.name), dump_recipe(config, "peftctl bench plan (probe)")
    )
    set_state(probes.state_path(cell.name), **cell.identity(), status="missing")


def _save_probe(bench: BenchDir, key: str, probes: BenchDir, name: str) -> None:
    """Rates measured by a finished probe (or its error), cached as ``probes/<key>.json``."""
    result = read_json(probes.result_path(name))
    if result is None:
        error = probes.read_state(name).get("error") or "no result"
        write_json_atomic(_probe_path(bench, key), {"error": error})
        return
    step = _step_seconds(probes.run_dir(name) / "log.jsonl")
    per_mode = [result, *(result.get("mode_scores") or {}).values()]
    splits = [r["eval"] for r in per_mode]
    if not result["test_is_eval"]:
        splits += [r["test"] for r in per_mode]
    scoring = sum(s["examples"] / max(s["examples_per_second"], 1e-9) for s in splits)
    data = result.get("data") or {}
    probe = {
        "step_seconds": step,
        "fixed_seconds": max(result["cell_seconds"] - result["steps"] * step - scoring, 0.0),
        "eval_examples_per_second": result["eval"]["examples_per_second"],
        "splits_scored": len(splits),
        "scoring_seconds_per_example": scoring / max(result["eval"]["examples"], 1),
        "peak_rss_bytes": result["peak_rss_bytes"],
        "train_rows": _full_rows(data.get("train")),
        "eval_rows": _full_rows(data.get("eval")),
        "probe_seconds": result["cell_seconds"],
    }
    write_json_atomic(_probe_path(bench, key), probe)


def _step_seconds(log: Path) -> float:
    """Mean seconds of the steps after the first (which pays one-time set-up)."""
    elapsed = []
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if "loss" in record and "elapsed_s" in record:
            elapsed.append(record["elapsed_s"])
    if len(elapsed) < 2:
        return elapsed[0] if elapsed else 0.0
    return (elapsed[-1] - elapsed[0]) / (len(elapsed) - 1)


def _full_rows(split: dict[str, Any] | None) -> int:
    """Rows of the whole split a probe sampled from."""
    origin = (split or {}).get("origin") or {}
    sampled = origin.get("sampled") or {}
    carved = origin.get("carved") or {}
    full = sampled.get("of") or carved.get("rows") or origin.get("examples")
    return int(full or (split or {}).get("examples") or 0)


def _probe_path(bench: BenchDir, key: str) -> Path:
    return bench.root / "probes" / f"{key}.json"
