"""Text overlap metrics: corpus BLEU (sacrebleu) and ROUGE-L (rouge-score), both in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _strings(predictions: Sequence[Any], references: Sequence[Any]) -> tuple[list, list]:
    return ["" if p is None else str(p) for p in predictions], [str(r) for r in references]


def bleu(
    predictions: Sequence[Any], references: Sequence[Any], *, labels: Sequence[str] | None = None
) -> float:
    """Corpus BLEU-4 with sacrebleu's defaults (13a tokenisation, exp smoothing) / 100."""
    import sacrebleu

    if not references:
        return 0.0
    hyps, refs = _strings(predictions, references)
    return sacrebleu.corpus_bleu(hyps, [refs]).score / 100.0


def rouge_l(
    predictions: Sequence[Any], references: Sequence[Any], *, labels: Sequence[str] | None = None
) -> float:
    """Mean ROUGE-L F-measure (longest common subsequence, Porter stemming)."""
    from rouge_score import rouge_scorer

    if not references:
        return 0.0
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    hyps, refs = _strings(predictions, references)
    scores = [
        scorer.score(ref, hyp)["rougeL"].fmeasure for hyp, ref in zip(hyps, refs, strict=True)
    ]
    return sum(scores) / len(scores)
