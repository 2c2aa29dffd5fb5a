"""Exact match: numeric when the gold answer is a number, normalised text otherwise."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from peftctl.metrics.parsing import as_number, evaluate_arithmetic, final_answer, normalise

REL_TOL = 1e-6
ABS_TOL = 1e-6


def gold_number(reference: Any) -> float | None:
    """The gold answer as a number, or None when it is text.

    A number, a numeric string, a GSM8K rationale ending in ``#### N`` and an arithmetic
    expression (an SVAMP equation) are numbers.
    """
    if isinstance(reference, (int, float)) and not isinstance(reference, bool):
        return float(reference)
    text = str(reference)
    if "####" in text:
        return final_answer(text)
    value = as_number(text)
    return value if value is not None else evaluate_arithmetic(text)


def matches(prediction: Any, reference: Any) -> bool:
    """Whether one prediction answers its reference (None never does)."""
    if prediction is None:
        return False
    gold = gold_number(reference)
    if gold is None:
        return normalise(str(prediction)) == normalise(str(reference))
    value = as_number(str(prediction))
    if value is None:
        value = final_answer(str(prediction))
    return value is not None and math.isclose(value, gold, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def exact_match(
    predictions: Sequence[Any], references: Sequence[Any], *, labels: Sequence[str] | None = None
) -> float:
    """Fraction of predictions that :func:`matches` their reference."""
    if not references:
        return 0.0
    hits = sum(matches(p, r) for p, r in zip(predictions, references, strict=True))
    return hits / len(references)
