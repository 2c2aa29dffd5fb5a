"""From per-cell result records to the numbers a comparison reports. Pure python, no torch.

A record is the ``result.json`` of a finished cell (see :mod:`peftctl.bench.worker`) or, for
any other cell, its identity plus ``status`` and ``error``. Scores are higher-is-better
primary metrics; a group is the cells of one (label, dataset, seed) that differ only in lr.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

FINISHED = "finished"
# Cost columns of a summary row: the mean over a row's selected cells of this value.
COSTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "pscp": lambda r: r.get("pscp"),
    "trainable_params": lambda r: r.get("trainable_params"),
    "peak_rss_bytes": lambda r: r.get("peak_rss_bytes"),
    "train_seconds": lambda r: r.get("train_seconds"),
    "tokens_per_second": lambda r: r.get("tokens_per_second"),
    "forgetting": lambda r: (r.get("forgetting") or {}).get("increase"),
    "adapter_bytes": lambda r: r.get("adapter_bytes"),
    "inference_flops": lambda r: r.get("inference_flops"),
    # deployability (the cells of a ``deploy: true`` spec's first seed; peftctl.bench.deploy)
    "merge_delta": lambda r: deploy_delta(r, "merged_score"),
    "gguf_delta": lambda r: deploy_delta(r, "gguf_q8_0_score"),
    "ms_per_token_adapter": lambda r: _latency(r, "adapter"),
    "ms_per_token_merged": lambda r: _latency(r, "merged"),
}


def _latency(record: dict[str, Any], form: str) -> float | None:
    return ((record.get("deployability") or {}).get("ms_per_token") or {}).get(form)


def deploy_delta(record: dict[str, Any], key: str) -> float | None:
    """A deployed form's score minus the cell's own test score (the split deployability was
    scored on); None when not measured, or for a further eval mode (scored in the first)."""
    deploy = record.get("deployability") or {}
    score, own = _number(deploy.get(key)), primary_score(record, "test")
    if score is None or own is None or record.get("mode_index", 0):
        return None
    return score - own


@dataclass(frozen=True)
class Row:
    """One (label, dataset) of the comparison over the selected cell of each seed.

    ``mean``/``std``/``ci`` are of the test primary score (``ci``: the half-width of the
    ``confidence`` interval, Student's t); None where too few seeds finished. Cost fields
    are means over the same cells."""

    label: str
    method: str
    dataset: str
    primary_metric: str | None
    n: int
    seeds: tuple[int, ...]
    mean: float | None
    std: float | None
    ci: float | None
    confidence: float
    eval_mean: float | None
    lrs: tuple[float, ...]  # the chosen lr of each seed in ``seeds``
    lr_swept: bool
    test_is_eval: bool
    complete: bool  # every cell of the row finished
    pscp: float | None
    trainable_params: float | None
    peak_rss_bytes: float | None
    train_seconds: float | None
    tokens_per_second: float | None
    forgetting: float | None
    adapter_bytes: float | None
    inference_flops: float | None
    merge_delta: float | None
    gguf_delta: float | None
    ms_per_token_adapter: float | None
    ms_per_token_merged: float | None
    mergeable: bool | None = None  # None: deployability not measured


@dataclass(frozen=True)
class MethodRow:
    """One label across datasets: the mean of its per-dataset mean scores, over the
    ``datasets`` where it has one, ranked (1 = best, ties share the lower rank); and the
    mean of its per-dataset ranks."""

    label: str
    method: str
    datasets: int
    average: float | None
    rank: int | None
    average_rank: float | None


def primary_score(record: dict[str, Any], split: str) -> float | None:
    """The primary metric of ``record`` on ``split`` ("eval" or "test"); None when absent."""
    metrics = (record.get(split) or {}).get("metrics") or {}
    return _number(metrics.get(record.get("primary_metric")))


def is_finished(record: dict[str, Any]) -> bool:
    return record.get("status") == FINISHED


def mode_views(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` with each cell scored in several eval modes split into one record per
    mode, its dataset named ``"<dataset> (<mode>)"``: to the tables, each mode is a column of
    its own, whose lr is chosen on that mode's eval score. Other records pass unchanged."""
    views = []
    for record in records:
        modes = record.get("modes") or []
        if len(modes) < 2:
            views.append(record)
            continue
        scores = record.get("mode_scores") or {}
        base = {k: v for k, v in record.items() if k != "mode_scores"}
        for i, mode in enumerate(modes):
            own = {} if i == 0 else scores.get(mode, {"eval": None, "test": None})
            dataset = f"{base['dataset']} ({mode})"
            views.append({**base, **own, "modes": [mode], "dataset": dataset, "mode_index": i})
    return views


def select_lr(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``records`` (:func:`mode_views`) with ``selected`` (the finished cell of its
    group with the best eval score; ties go to the smaller lr) and ``group_complete`` (every
    cell of the group finished)."""
    records = mode_views(records)
    groups = _group(records, lambda r: (r.get("label"), r.get("dataset"), r.get("seed")))
    chosen: set[int] = set()
    complete: dict[tuple, bool] = {}
    for key, members in groups.items():
        complete[key] = all(is_finished(r) for r in members)
        best = _best_by_eval(members)
        if best is not None:
            chosen.add(id(best))
    return [
        {
            **r,
            "selected": id(r) in chosen,
            "group_complete": complete[(r.get("label"), r.get("dataset"), r.get("seed"))],
        }
        for r in records
    ]


def summarise(records: Iterable[dict[str, Any]], confidence: float = 0.95) -> list[Row]:
    """One :class:`Row` per (label, dataset), in order of first appearance; a row whose
    cells all failed is kept with ``n == 0``."""
    marked = select_lr(records)
    groups = _group(marked, lambda r: (r.get("label"), r.get("dataset")))
    return [_row(label, dataset, cells, confidence) for (label, dataset), cells in groups.items()]


def method_ranking(rows: Sequence[Row]) -> list[MethodRow]:
    """One :class:`MethodRow` per label of ``rows``, in order of first appearance."""
    scored = [row for row in rows if row.mean is not None]
    by_label = _group(rows, lambda row: row.label)
    means = {
        label: [r.mean for r in members if r.mean is not None]
        for label, members in by_label.items()
    }
    averages = {label: sum(v) / len(v) for label, v in means.items() if v}
    everywhere = len({row.dataset for row in rows})  # a partial average is not ranked
    ranks = competition_ranks({k: v for k, v in averages.items() if len(means[k]) == everywhere})
    dataset_ranks: dict[str, list[int]] = {label: [] for label in by_label}
    for members in _group(scored, lambda row: row.dataset).values():
        for label, rank in competition_ranks({r.label: r.mean for r in members}).items():
            dataset_ranks[label].append(rank)
    return [
        MethodRow(
            label=label,
            method=members[0].method,
            datasets=len(means[label]),
            average=averages.get(label),
            rank=ranks.get(label),
            average_rank=_mean(dataset_ranks[label]),
        )
        for label, members in by_label.items()
    ]


@dataclass(frozen=True)
class LrSweep:
    """One (label, dataset) swept over several lrs: per lr, the mean eval score over the seeds
    that finished it (what lr selection compares); ``spread`` is the best minus the worst,
    ``margin`` the best minus the runner-up."""

    label: str
    dataset: str
    points: tuple[tuple[float, float], ...]  # (lr, mean eval score), by lr

    @property
    def spread(self) -> float:
        scores = [score for _, score in self.points]
        return max(scores) - min(scores)

    @property
    def margin(self) -> float:
        first, second = sorted((score for _, score in self.points), reverse=True)[:2]
        return first - second


def lr_sweeps(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str], LrSweep]:
    """The :class:`LrSweep` of every (label, dataset) with two or more lrs scored."""
    scored = [
        (r, primary_score(r, "eval"))
        for r in mode_views(records)
        if is_finished(r) and r.get("lr") is not None
    ]
    by_row = _group(
        [(r, s) for r, s in scored if s is not None],
        lambda p: (p[0].get("label"), p[0].get("dataset")),
    )
    sweeps = {}
    for (label, dataset), pairs in by_row.items():
        by_lr = _group(pairs, lambda p: float(p[0]["lr"]))
        if len(by_lr) >= 2:
            points = tuple(
                (lr, sum(s for _, s in found) / len(found)) for lr, found in sorted(by_lr.items())
            )
            sweeps[label, dataset] = LrSweep(label, dataset, points)
    return sweeps


def competition_ranks(scores: dict[str, float]) -> dict[str, int]:
    """Rank of each key by score, higher first; equal scores (to 10 decimals) share the lower
    rank and the next rank skips ("1, 1, 3")."""
    rounded = {key: round(score, 10) for key, score in scores.items()}
    return {key: 1 + sum(s > score for s in rounded.values()) for key, score in rounded.items()}


def t_half_width(std: float | None, n: int, confidence: float = 0.95) -> float | None:
    """Half-width of the Student's t confidence interval of a mean of ``n`` samples."""
    if std is None or n < 2:
        return None
    from scipy import stats

    return float(stats.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)


def _row(label: str, dataset: str, cells: list[dict[str, Any]], confidence: float) -> Row:
    selected = [r for r in cells if r["selected"] and primary_score(r, "test") is not None]
    values = [primary_score(r, "test") for r in selected]
    std = statistics.stdev(values) if len(values) >= 2 else None
    return Row(
        label=label,
        method=cells[0].get("method", label),
        dataset=dataset,
        primary_metric=next((r.get("primary_metric") for r in selected), None),
        n=len(values),
        seeds=tuple(r.get("seed") for r in selected),
        mean=_mean(values),
        std=std,
        ci=t_half_width(std, len(values), confidence),
        confidence=confidence,
        eval_mean=_mean([primary_score(r, "eval") for r in selected]),
        lrs=tuple(r.get("lr") for r in selected),
        lr_swept=any(r.get("lr_swept") for r in cells),
        test_is_eval=any(r.get("test_is_eval") for r in selected),
        complete=all(is_finished(r) for r in cells),
        **{name: _mean([value(r) for r in selected]) for name, value in COSTS.items()},
        mergeable=next(
            (r["deployability"]["mergeable"] for r in selected if r.get("deployability")), None
        ),
    )


def _best_by_eval(members: list[dict[str, Any]]) -> dict[str, Any] | None:
    scored = [(primary_score(r, "eval"), r) for r in members if is_finished(r)]
    scored = [(score, r) for score, r in scored if score is not None]
    if not scored:
        return None
    return min(scored, key=lambda pair: (-pair[0], pair[1].get("lr") or 0.0))[1]


def _group(items: Iterable[Any], key: Callable[[Any], Any]) -> dict[Any, list[Any]]:
    """``items`` grouped by ``key``, groups and members in order of first appearance."""
    groups: dict[Any, list[Any]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def _mean(values: Iterable[Any]) -> float | None:
    numbers = [n for n in (_number(v) for v in values) if n is not None]
    return sum(numbers) / len(numbers) if numbers else None


def _number(value: Any) -> float | None:
    """``value`` as a float; None for missing, non-numeric or NaN values."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)
