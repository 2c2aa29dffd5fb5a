"""Paired comparisons on the same test items: per dataset, every method against the best one
(the per-item score difference with a paired bootstrap 95 % interval, McNemar's exact test),
and each method's probability of being the best (bootstrap over seeds and items), per dataset
and for the average over datasets.

A method's per-item score is its prediction's ``correct`` (1 or 0) on the test split, read
from the selected cell of each seed (``predictions.jsonl``); items are paired by id within a
seed, and the comparison pools the seeds. Datasets without a per-item notion of correctness
(regression, code) get none of this. No torch; numpy for the resampling.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from peftctl.bench.aggregate import Row, is_finished
from peftctl.bench.worker import MODES_DIR, TEST_DIR
from peftctl.run_files import PREDICTIONS

#: bootstrap replicates (fixed generator seed: a report is the same every time it is written)
RESAMPLES = 2000
SEED = 0


@dataclass(frozen=True)
class Versus:
    """A method against the best of its dataset: mean per-item difference (``correct`` of
    this method minus the best's, over the paired items of every seed) with its 95 %
    paired-bootstrap interval, and McNemar's exact two-sided p (1.0 for the best itself)."""

    best: str
    items: int
    delta: float
    low: float
    high: float
    mcnemar_p: float

    @property
    def distinguishable(self) -> bool:
        """Whether the interval excludes 0: this method differs from the best."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Paired:
    """Per (label, dataset): :class:`Versus` and the probability of being best; per label:
    the probability of having the best average over the datasets every label has."""

    versus: dict[tuple[str, str], Versus]
    p_best: dict[tuple[str, str], float]
    p_best_average: dict[str, float]


def compare(
    records: Sequence[dict[str, Any]], rows: Sequence[Row], *, resamples: int = RESAMPLES
) -> Paired:
    """The paired statistics of ``records`` (as :func:`~peftctl.bench.aggregate.select_lr`
    marks them) for the datasets of ``rows``."""
    rng = np.random.default_rng(SEED)
    versus: dict[tuple[str, str], Versus] = {}
    p_best: dict[tuple[str, str], float] = {}
    draws: dict[str, dict[str, np.ndarray]] = {}  # dataset -> label -> score per replicate
    for dataset in dict.fromkeys(row.dataset for row in rows):
        scored = [r for r in rows if r.dataset == dataset and r.mean is not None]
        matrix = _item_matrix(records, dataset, [r.label for r in scored])
        if not matrix:
            continue
        labels = list(next(iter(matrix.values())))
        best = max(scored, key=lambda r: r.mean).label
        if best not in labels:
            continue
        for label in labels:
            versus[label, dataset] = versus_best(matrix, label, best, rng, resamples)
        scores = bootstrap_scores(matrix, rng, resamples)
        draws[dataset] = scores
        for label, share in best_shares(scores).items():
            p_best[label, dataset] = share
    return Paired(versus, p_best, _average_best(draws))


def versus_best(
    matrix: dict[Any, dict[str, np.ndarray]],
    label: str,
    best: str,
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
) -> Versus:
    """:class:`Versus` of ``label`` against ``best`` from their per-seed item scores
    (``matrix[seed][label]``, items aligned); items are resampled within each seed."""
    diffs = [scores[label] - scores[best] for scores in matrix.values()]
    items = sum(len(d) for d in diffs)
    totals = sum(_resampled_sums(d, rng, resamples) for d in diffs)
    low, high = np.percentile(totals / items, [2.5, 97.5])
    wins = sum(int((d > 0).sum()) for d in diffs)
    losses = sum(int((d < 0).sum()) for d in diffs)
    delta = float(sum(d.sum() for d in diffs) / items)
    return Versus(best, items, delta, float(low), float(high), mcnemar_exact(wins, losses))


def mcnemar_exact(b: int, c: int) -> float:
    """McNemar's exact two-sided p for ``b`` and ``c`` discordant pairs: the binomial
    probability of a split at least as uneven under p = 1/2."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def bootstrap_scores(
    matrix: dict[Any, dict[str, np.ndarray]], rng: np.random.Generator, resamples: int
) -> dict[str, np.ndarray]:
    """Each label's mean item score in ``resamples`` replicates that draw seeds with
    replacement and items within each seed; every label sees the same draws (paired)."""
    seeds = list(matrix)
    labels = list(matrix[seeds[0]])
    weights = rng.multinomial(len(seeds), [1 / len(seeds)] * len(seeds), size=resamples)
    sizes = np.array([len(matrix[s][labels[0]]) for s in seeds])
    count = np.maximum(weights @ sizes, 1)
    sums = {label: np.zeros(resamples) for label in labels}
    for column, seed in enumerate(seeds):
        picks = rng.integers(0, sizes[column], size=(resamples, sizes[column]))
        for label in labels:
            sums[label] += weights[:, column] * matrix[seed][label][picks].sum(axis=1)
    return {label: sums[label] / count for label in labels}


def best_shares(scores: dict[str, np.ndarray]) -> dict[str, float]:
    """The share of replicates in which each label scores highest (ties split evenly)."""
    labels = list(scores)
    table = np.stack([scores[label] for label in labels])
    top = table == table.max(axis=0)
    shares = (top / top.sum(axis=0)).mean(axis=1)
    return {label: float(share) for label, share in zip(labels, shares, strict=True)}


def item_scores(record: dict[str, Any]) -> dict[str, float] | None:
    """id -> 1.0/0.0 (correct) of a finished cell's test predictions; None where the file is
    missing or the task has no per-item correctness."""
    run = record.get("run_dir")
    if not run or not is_finished(record):
        return None
    base = Path(run)
    if record.get("mode_index"):  # a further eval mode (aggregate.mode_views)
        base = base / MODES_DIR / record["modes"][0]
    path = base / PREDICTIONS if record.get("test_is_eval") else base / TEST_DIR / PREDICTIONS
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    scores = {}
    for line in lines:
        item = json.loads(line)
        if item.get("correct") is None:
            return None
        scores[str(item["id"])] = float(item["correct"])
    return scores or None


def _item_matrix(
    records: Iterable[dict[str, Any]], dataset: str, labels: Sequence[str]
) -> dict[Any, dict[str, np.ndarray]]:
    """seed -> label -> item scores on the items every label has for that seed; only seeds
    where every label's selected cell has them."""
    found: dict[Any, dict[str, dict[str, float]]] = {}
    for record in records:
        if record.get("dataset") != dataset or not record.get("selected"):
            continue
        if record.get("label") in labels:
            scores = item_scores(record)
            if scores is not None:
                found.setdefault(record.get("seed"), {})[record["label"]] = scores
    matrix = {}
    for seed, by_label in found.items():
        if set(by_label) != set(labels):
            continue
        common = sorted(set.intersection(*(set(s) for s in by_label.values())))
        if common:
            matrix[seed] = {
                label: np.array([by_label[label][i] for i in common]) for label in labels
            }
    return matrix


def _resampled_sums(values: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    picks = rng.integers(0, len(values), size=(resamples, len(values)))
    return values[picks].sum(axis=1)


def _average_best(draws: dict[str, dict[str, np.ndarray]]) -> dict[str, float]:
    """Per label with a score on every dataset: the share of replicates in which its mean
    over the datasets is the highest."""
    if not draws:
        return {}
    everywhere = set.intersection(*(set(scores) for scores in draws.values()))
    if not everywhere:
        return {}
    means = {
        label: sum(scores[label] for scores in draws.values()) / len(draws)
        for label in sorted(everywhere)
    }
    return best_shares(means)
