"""Correlation metrics for numeric answers (STS-B): Pearson and Spearman."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def _pairs(predictions: Sequence[Any], references: Sequence[Any]) -> tuple[list, list]:
    """Floats of both; an unparseable prediction becomes the references' mean (no information)."""
    gold = [float(r) for r in references]
    fill = sum(gold) / len(gold) if gold else 0.0
    return [fill if p is None else float(p) for p in predictions], gold


def _correlation(kind: str, predictions: Sequence[Any], references: Sequence[Any]) -> float:
    import numpy as np
    from scipy import stats

    pred, gold = _pairs(predictions, references)
    if len(gold) < 2 or np.ptp(pred) == 0 or np.ptp(gold) == 0:
        return 0.0  # undefined (constant input) counts as no correlation
    value = (stats.pearsonr if kind == "pearson" else stats.spearmanr)(pred, gold)[0]
    return 0.0 if math.isnan(value) else float(value)


def pearson(
    predictions: Sequence[Any], references: Sequence[Any], *, labels: Sequence[str] | None = None
) -> float:
    """Pearson correlation between predicted and gold numbers."""
    return _correlation("pearson", predictions, references)


def spearman(
    predictions: Sequence[Any], references: Sequence[Any], *, labels: Sequence[str] | None = None
) -> float:
    """Spearman rank correlation between predicted and gold numbers."""
    return _correlation("spearman", predictions, references)
