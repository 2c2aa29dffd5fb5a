"""Built-in metrics.

Every metric implementation is a callable with one signature::

    metric(predictions: Sequence[str | None], references: Sequence[Any], *,
           labels: tuple[str, ...] | None = None, **requires) -> float

``predictions`` are parsed predictions (``None`` = unparseable, always counted wrong),
``references`` the gold answers, ``labels`` the dataset's verbalizers (classification), and
``requires`` the extra inputs its :class:`~peftctl.specs.MetricSpec` names in ``requires``
(PSCP: the primary score and the measured inference cost). Scores are in [0, 1] (correlations
in [-1, 1]). Call them through :func:`peftctl.metrics.compute.compute_metrics`.
"""
