"""Label metrics: accuracy, F1 (binary or macro), Matthews correlation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Stands in for an unparseable prediction: a class no reference can have.
INVALID = "\x00invalid"


def _labels_of(predictions: Sequence[Any], references: Sequence[Any]) -> tuple[list, list]:
    y_true = [str(r) for r in references]
    y_pred = [INVALID if p is None else str(p) for p in predictions]
    return y_true, y_pred


def accuracy(
    predictions: Sequence[Any], references: Sequence[Any], *, labels: Sequence[str] | None = None
) -> float:
    """Fraction of predictions equal to their reference."""
    from sklearn.metrics import accuracy_score

    if not references:
        return 0.0
    return float(accuracy_score(*_labels_of(predictions, references)))


def f1(
    predictions: Sequence[Any], references: Sequence[Any], *, labels: Sequence[str] | None = None
) -> float:
    """F1 as PEFT-Factory computes it: binary (positive = the second verbalizer) when the
    dataset has two labels, else macro."""
    if labels is not None and len(labels) == 2:
        return _f1(predictions, references, [str(labels[1])])
    return f1_macro(predictions, references, labels=labels)


def f1_macro(
    predictions: Sequence[Any], references: Sequence[Any], *, labels: Sequence[str] | None = None
) -> float:
    """Unweighted mean of per-class F1 over the classes seen in references or predictions."""
    y_true, y_pred = _labels_of(predictions, references)
    seen = (set(y_true) | set(y_pred)) - {INVALID}
    classes = [str(x) for x in labels if str(x) in seen] if labels else sorted(seen)
    return _f1(predictions, references, classes or sorted(set(y_true)))


def _f1(predictions: Sequence[Any], references: Sequence[Any], classes: list[str]) -> float:
    from sklearn.metrics import f1_score

    if not references:
        return 0.0
    y_true, y_pred = _labels_of(predictions, references)
    return float(f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0.0))


def describe_f1(labels: Sequence[str] | None) -> str:
    """Which F1 :func:`f1` computes for a dataset with these verbalizers."""
    if labels is not None and len(labels) == 2:
        return f"binary F1, positive label '{labels[1]}'"
    return "macro F1 over the classes seen in references or predictions"


def mcc(
    predictions: Sequence[Any], references: Sequence[Any], *, labels: Sequence[str] | None = None
) -> float:
    """Matthews correlation coefficient (multi-class form; invalid predictions are a class)."""
    from sklearn.metrics import matthews_corrcoef

    if not references:
        return 0.0
    return float(matthews_corrcoef(*_labels_of(predictions, references)))


f1.describe = describe_f1  # type: ignore[attr-defined]
f1_macro.describe = lambda labels: "macro F1 over the classes seen in references or predictions"  # type: ignore[attr-defined]
