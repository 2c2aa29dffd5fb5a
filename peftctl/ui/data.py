"""What the web page shows, read from disk: bench directories and plain run directories under
the served folders, as records of one shape (a bench cell's ``result.json``), then flat rows.

Pure python, no gradio or torch: the page, the tests and scripts share it. Every read is
fresh (nothing cached), so the page never shows stale data.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from peftctl.bench.store import BENCH_FILE, BenchDir, cell_records, read_json
from peftctl.errors import PeftctlError
from peftctl.run_files import METRICS, PREDICTIONS, RECIPE, RUN_CARD

_MAX_DEPTH = 3


@dataclass(frozen=True)
class Source:
    """One thing found under a served folder: a bench directory or a run directory."""

    kind: str  # "bench" | "run"
    path: Path
    root: Path

    @property
    def name(self) -> str:
        relative = self.path.relative_to(self.root)
        return str(relative) if str(relative) != "." else self.path.name


def discover(roots: Sequence[Path]) -> list[Source]:
    """Bench and run directories under ``roots`` (a bench's own cells are not repeated)."""
    found: dict[Path, Source] = {}
    for root in roots:
        for source in _walk(root.resolve(), root.resolve(), 0):
            found.setdefault(source.path, source)  # served twice: listed once, first name
    return list(found.values())


def load_records(roots: Sequence[Path]) -> list[dict[str, Any]]:
    """Every cell of every bench and every run under ``roots``, as result records with
    ``source`` (the bench or folder it came from) and ``id`` (unique on the page)."""
    records = []
    for source in discover(roots):
        if source.kind == "bench":
            from peftctl.bench.aggregate import select_lr

            for record in select_lr(cell_records(BenchDir(source.path))):
                cell = str(BenchDir(source.path).run_dir(record["name"]))  # even if moved
                page_id = f"{source.name}/{record['name']}"
                records.append(
                    {**record, "source": source.name, "run_dir": cell, "bench": True, "id": page_id}
                )
        else:
            folder = Path(source.name).parent
            record = run_record(source.path)
            record["id"] = str(folder / source.path.name)
            record["source"] = str(folder) if str(folder) != "." else source.root.name
            records.append(record)
    return records


def run_record(run_dir: Path) -> dict[str, Any]:
    """A plain ``peftctl train`` run directory in the shape of a bench result record."""
    recipe = _read_yaml(run_dir / RECIPE)
    card = read_json(run_dir / RUN_CARD) or {}
    metrics = read_json(run_dir / METRICS)
    training = card.get("training", {})
    scores = _scores(metrics) if metrics else None
    method = (recipe.get("method") or {}).get("name") or card.get("method")
    return {
        "name": run_dir.name,
        "label": method,
        "method": method,
        "dataset": (recipe.get("dataset") or {}).get("name"),
        "seed": recipe.get("seed"),
        "lr": (recipe.get("train") or {}).get("lr"),
        "lr_swept": False,
        "selected": True,
        "status": card.get("status", "running") if card else "running",
        "primary_metric": metrics.get("primary_metric") if metrics else None,
        "eval": scores,
        "test": scores,
        "test_is_eval": True,
        "pscp": (metrics or {}).get("metrics", {}).get("pscp"),
        "trainable_params": card.get("parameters", {}).get("trainable"),
        "total_params": card.get("parameters", {}).get("total"),
        "peak_rss_bytes": card.get("memory", {}).get("peak_rss_bytes"),
        "peak_gpu_bytes": card.get("memory", {}).get("peak_gpu_bytes"),
        "steps": training.get("steps"),
        "train_seconds": training.get("train_seconds"),
        "tokens_per_second": training.get("tokens_per_second"),
        "final_train_loss": training.get("final_train_loss"),
        "inference_flops": ((metrics or {}).get("inference_cost") or {}).get("flops"),
        "precision": card.get("precision", {}).get("chosen"),
        "versions": card.get("versions"),
        "run_dir": str(run_dir),
    }


def table_rows(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flat rows for the results table: the columns of ``results.csv`` led by ``id``."""
    from peftctl.bench.report import results_rows

    records = list(records)
    rows = results_rows(records)
    for row, record in zip(rows, records, strict=True):
        row["id"] = record["id"]
        row["source"] = record["source"]
        row["peak_rss_gb"] = _gb(row.pop("peak_rss_bytes", None))
        row["kind"] = "cell" if record.get("bench") else "run"
    lead = ["id", "source", "label", "dataset", "seed", "lr", "status", "test_primary"]
    return [{**{k: row.get(k) for k in lead}, **row} for row in rows]


# -- filtering -------------------------------------------------------------------------------

_TERM = re.compile(r"^(?P<key>[A-Za-z_][\w.]*)\s*(?P<op>>=|<=|!=|=|>|<|~)\s*(?P<value>.+)$")


def filter_rows(rows: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    """Rows matching every term of ``query``: ``key=value``, ``key!=value``, ``key>0.8``,
    ``key<=1e6``, ``key~text`` (contains), or a bare word found in id/label/dataset.
    Parsed, never evaluated; an unknown column is a :class:`PeftctlError`."""
    columns = set().union(*(row.keys() for row in rows)) if rows else set()
    tests = [_term(term, columns) for term in query.split()]
    return [row for row in rows if all(test(row) for test in tests)]


def _term(text: str, columns: set[str]):
    match = _TERM.match(text)
    if match is None:
        word = text.lower()
        return lambda row: any(word in str(row.get(k) or "").lower() for k in _WORD_KEYS)
    key, op, value = match["key"], match["op"], match["value"]
    if columns and key not in columns:
        raise PeftctlError(f"filter: unknown column '{key}'; columns: {', '.join(sorted(columns))}")
    number = _number(value)
    if op in (">", "<", ">=", "<=") and number is None:
        raise PeftctlError(f"filter: '{text}' compares with '{value}', which is not a number")
    return lambda row: _compare(row.get(key), op, value, number)


_WORD_KEYS = ("id", "label", "method", "dataset", "status")


def _compare(cell: Any, op: str, value: str, number: float | None) -> bool:
    if op == "~":
        return value.lower() in str(cell or "").lower()
    cell_number = _number(cell)
    if op in ("=", "!=") and not (number is not None and cell_number is not None):
        equal = str(cell if cell is not None else "").lower() == value.lower()
        return equal if op == "=" else not equal
    if cell_number is None or number is None:
        return False
    return {
        "=": cell_number == number,
        "!=": cell_number != number,
        ">": cell_number > number,
        "<": cell_number < number,
        ">=": cell_number >= number,
        "<=": cell_number <= number,
    }[op]


# -- Pareto ----------------------------------------------------------------------------------

# Metrics whose smaller value is better; every score is higher-better.
LOWER_BETTER = {
    "trainable_params",
    "total_params",
    "adapter_bytes",
    "peak_rss_gb",
    "peak_gpu_bytes",
    "train_seconds",
    "inference_flops",
    "forgetting",
    "cell_seconds",
    "eval_invalid_rate",
    "test_invalid_rate",
    "final_train_loss",
}


def axis_choices(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Numeric columns that can be a Pareto axis."""
    skip = {"seed", "lr", "steps", "threads"}
    names: list[str] = []
    for row in rows:
        for key, value in row.items():
            numeric = _number(value) is not None and not isinstance(value, bool)
            if numeric and key not in skip and key not in names:
                names.append(key)
    return names


def higher_is_better(column: str) -> bool:
    return column not in LOWER_BETTER


def pareto_points(rows: Sequence[dict[str, Any]], x: str, y: str) -> list[dict[str, Any]]:
    """``{id, label, dataset, x, y, pareto}`` for rows with both values; ``pareto`` marks the
    rows no other row of the same dataset beats on both axes (each in its better direction):
    scores of different datasets are not comparable."""
    from peftctl.bench.plots import pareto_front

    usable = [r for r in rows if _number(r.get(x)) is not None and _number(r.get(y)) is not None]
    front: set[int] = set()
    for dataset in dict.fromkeys(r.get("dataset") for r in usable):
        members = [i for i, r in enumerate(usable) if r.get("dataset") == dataset]
        xy = [(float(usable[i][x]), float(usable[i][y])) for i in members]
        best = pareto_front(xy, not higher_is_better(x), higher_is_better(y))
        front.update(members[k] for k in best)
    return [
        {
            "id": r["id"],
            "label": r.get("label"),
            "dataset": r.get("dataset"),
            x: float(r[x]),
            y: float(r[y]),
            "pareto": "Pareto front" if i in front else "dominated",
        }
        for i, r in enumerate(usable)
    ]


def method_points(rows: Sequence[dict[str, Any]], x: str, y: str) -> list[dict[str, Any]]:
    """The Compare plot's points: per bench, method and dataset the mean of ``x`` and of
    ``y`` over seeds (the lr a sweep kept) with ``y``'s 95 % interval; a plain run is a point
    of its own. ``front`` marks the points no other point of the same bench and dataset (one
    budget) beats on both axes; plain runs compete within their folder, dataset and steps."""
    from peftctl.bench.aggregate import t_half_width
    from peftctl.bench.plots import pareto_front

    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        if _number(row.get(x)) is None or _number(row.get(y)) is None:
            continue
        if row.get("kind") == "cell" and row.get("selected") is False:
            continue  # an lr the sweep did not keep
        member = (row.get("label"),) if row.get("kind") == "cell" else (row["id"],)
        key = (row.get("source"), row.get("dataset"), *member)
        groups.setdefault(key, []).append(row)
    points = []
    for key, members in groups.items():
        ys = [float(r[y]) for r in members]
        mean_y = sum(ys) / len(ys)
        std = statistics.stdev(ys) if len(ys) > 1 else None
        ci = t_half_width(std, len(ys)) or 0.0
        first = members[0]
        points.append(
            {
                "label": first.get("label"),
                "source": first.get("source"),
                "dataset": first.get("dataset"),
                "group": f"{key[0]} · {key[1]}"
                + ("" if first.get("kind") == "cell" else f" · {first.get('steps')} steps"),
                "n": len(members),
                "x": sum(float(r[x]) for r in members) / len(members),
                "y": mean_y,
                "ci": ci,
                "low": mean_y - ci,
                "high": mean_y + ci,
                "values": ys,
                "ids": [r["id"] for r in members],
            }
        )
    for group in dict.fromkeys(p["group"] for p in points):
        members = [p for p in points if p["group"] == group]
        xy = [(p["x"], p["y"]) for p in members]
        best = set(pareto_front(xy, not higher_is_better(x), higher_is_better(y)))
        for i, point in enumerate(members):
            point["front"] = i in best
    return points


# -- one run ---------------------------------------------------------------------------------


def resolve_run(records: Sequence[dict[str, Any]], run_id: str, roots: Sequence[Path]) -> Path:
    """The run directory of ``run_id``: only ids the page listed, only inside ``roots``."""
    for record in records:
        if record["id"] == run_id:
            path = Path(record["run_dir"]).resolve()
            if any(path.is_relative_to(root.resolve()) for root in roots):
                return path
            break
    raise PeftctlError(f"no run '{run_id}' under the served folders")


def loss_points(run_dir: Path) -> list[dict[str, Any]]:
    """``{step, loss, series}`` from ``log.jsonl``: train loss and eval loss."""
    points = []
    for record in _jsonl(run_dir / "log.jsonl"):
        for key, series in (("loss", "train"), ("eval_loss", "eval")):
            if isinstance(record.get(key), (int, float)) and isinstance(record.get("step"), int):
                points.append({"step": record["step"], "loss": record[key], "series": series})
    return points


def predictions(run_dir: Path, show: str = "all", limit: int = 500) -> list[dict[str, Any]]:
    """Scored examples of a run: ``all``, ``wrong`` or ``invalid`` (unparseable answers)."""
    keep = {
        "all": lambda p: True,
        "wrong": lambda p: p.get("correct") is False,
        "invalid": lambda p: p.get("prediction") is None,
    }[show]
    rows = []
    for item in _jsonl(run_dir / PREDICTIONS):
        if keep(item):
            rows.append({k: item.get(k) for k in ("id", "gold", "prediction", "output", "prompt")})
            if len(rows) >= limit:
                break
    return rows


def read_text(run_dir: Path, name: str) -> str:
    """A small text file of a run (recipe, run card), or a note that it is missing."""
    path = run_dir / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return f"# {name}: not written yet"


# -- helpers ---------------------------------------------------------------------------------


def _walk(root: Path, folder: Path, depth: int) -> list[Source]:
    if (folder / BENCH_FILE).is_file():
        return [Source("bench", folder, root)]
    if (folder / RECIPE).is_file() and depth > 0:
        return [Source("run", folder, root)]
    if (folder / RECIPE).is_file():
        return [Source("run", folder, folder.parent)]
    if depth >= _MAX_DEPTH or not folder.is_dir():
        return []
    found = []
    for child in sorted(folder.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            found.extend(_walk(root, child, depth + 1))
    return found


def _scores(metrics: dict[str, Any]) -> dict[str, Any]:
    keep = ("split", "mode", "examples", "invalid_rate", "examples_per_second")
    return {"metrics": metrics.get("metrics", {}), **{k: metrics.get(k) for k in keep}}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _jsonl(path: Path) -> Iterable[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    items = []
    for line in lines:
        try:
            items.append(json.loads(line))
        except ValueError:
            continue  # a line being written
    return items


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _gb(value: Any) -> float | None:
    number = _number(value)
    return round(number / 1024**3, 3) if number is not None else None
