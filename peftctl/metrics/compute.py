"""Score predictions with metrics named by the user or the dataset, through the plugins."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from peftctl.errors import PeftctlError


def compute_metrics(
    names: Sequence[str],
    predictions: Sequence[Any],
    references: Sequence[Any],
    *,
    labels: Sequence[str] | None = None,
    primary: str | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """``{metric name: score}`` for each name, resolved through ``get_plugins().metrics``.

    :param labels: the dataset's verbalizers (classification metrics use them).
    :param primary: the metric that is "primary" for metrics requiring it (PSCP); default:
        the first name that requires nothing. It is computed (and reported) when not listed.
    :param inputs: the measured extras that metrics may require (``trainable_params``,
        ``inference_cost``, ``base_inference_cost``, ``pscp_constants``); a metric receives
        those its function accepts.
    """
    from peftctl.plugin_manager import get_plugins

    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    catalogue = get_plugins().metrics
    specs = [catalogue.get(name) for name in dict.fromkeys(names)]
    plain = [s for s in specs if not s.requires]
    scores = {s.name: _call(s.load(), predictions, references, labels, {}) for s in plain}
    derived = [s for s in specs if s.requires]
    context = dict(inputs or {})
    if any("primary" in s.requires for s in derived):
        name = primary or (plain[0].name if plain else None)
        if name is None:
            raise PeftctlError(
                f"metric '{derived[0].name}' needs a primary metric: list one before it"
            )
        if name not in scores:
            spec = catalogue.get(name)
            scores = {name: _call(spec.load(), predictions, references, labels, {}), **scores}
        context["primary"] = scores[name]
    for spec in derived:
        missing = [key for key in spec.requires if key not in context]
        if missing:
            raise PeftctlError(
                f"metric '{spec.name}' needs {', '.join(missing)}, which this evaluation did "
                f"not measure; drop it from --metrics"
            )
        scores[spec.name] = _call(spec.load(), predictions, references, labels, context)
    return scores


def metric_notes(names: Sequence[str], *, labels: Sequence[str] | None = None) -> dict[str, str]:
    """What variant each named metric computes for these labels, where it says (e.g. f1)."""
    from peftctl.plugin_manager import get_plugins

    notes = {}
    for name in dict.fromkeys(names):
        describe = getattr(get_plugins().metrics.get(name).load(), "describe", None)
        if describe is not None:
            notes[name] = describe(labels)
    return notes


def _call(
    metric: Callable[..., float],
    predictions: Sequence[Any],
    references: Sequence[Any],
    labels: Sequence[str] | None,
    context: Mapping[str, Any],
) -> float:
    accepted = inspect.signature(metric).parameters
    extras = {key: value for key, value in context.items() if key in accepted}
    return float(metric(predictions, references, labels=labels, **extras))
