"""Registers the core's built-in metrics (through the ``peftctl`` entry-point group)."""

from __future__ import annotations

from peftctl import hookimpl
from peftctl.specs import MetricSpec


@hookimpl
def peftctl_register_metrics() -> list[MetricSpec]:
    return [
        MetricSpec(
            name="accuracy",
            summary="Fraction of exact label matches",
            impl="peftctl.metrics.classification:accuracy",
        ),
    ]
