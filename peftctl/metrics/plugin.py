"""Registers the core's built-in metrics (through the ``peftctl`` entry-point group)."""

from __future__ import annotations

from peftctl import hookimpl
from peftctl.specs import MetricSpec

_METRICS = (
    ("accuracy", "Fraction of exact label matches", "classification:accuracy"),
    (
        "f1",
        "F1: binary (positive = second verbalizer) for two labels, else macro",
        "classification:f1",
    ),
    ("f1_macro", "Macro F1: unweighted mean of per-class F1", "classification:f1_macro"),
    ("mcc", "Matthews correlation coefficient", "classification:mcc"),
    ("pearson", "Pearson correlation of predicted and gold numbers", "regression:pearson"),
    ("spearman", "Spearman rank correlation of predicted and gold numbers", "regression:spearman"),
    (
        "exact_match",
        "Numeric match (tolerance 1e-6) for numeric gold, else normalised text match",
        "matching:exact_match",
    ),
    ("bleu", "Corpus BLEU-4 (sacrebleu), in [0, 1]", "text:bleu"),
    ("rouge_l", "Mean ROUGE-L F-measure (rouge-score)", "text:rouge_l"),
    ("codebleu", "CodeBLEU for Python (needs peftctl[code])", "code:codebleu"),
)


@hookimpl
def peftctl_register_metrics() -> list[MetricSpec]:
    specs = [
        MetricSpec(name=name, summary=summary, impl=f"peftctl.metrics.{impl}")
        for name, summary, impl in _METRICS
    ]
    specs.append(
        MetricSpec(
            name="pscp",
            summary="Primary score discounted by trainable params, inference FLOPs and memory",
            impl="peftctl.evaluation.pscp:pscp_metric",
            requires=("primary", "trainable_params", "inference_cost"),
        )
    )
    return specs
