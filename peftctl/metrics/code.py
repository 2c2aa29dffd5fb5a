"""CodeBLEU (the ``codebleu`` package, an optional extra: ``pip install 'peftctl[code]'``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from peftctl.errors import PeftctlError

INSTALL_HINT = "pip install 'peftctl[code]' (codebleu and tree-sitter-python)"


def codebleu(
    predictions: Sequence[Any],
    references: Sequence[Any],
    *,
    labels: Sequence[str] | None = None,
    lang: str = "python",
) -> float:
    """CodeBLEU with equal weights for n-gram, weighted n-gram, syntax and dataflow match."""
    try:
        from codebleu import calc_codebleu
    except ImportError as exc:
        raise PeftctlError(f"metric 'codebleu' needs the codebleu package; {INSTALL_HINT}") from exc
    if not references:
        return 0.0
    hyps = ["" if p is None else str(p) for p in predictions]
    try:
        result = calc_codebleu([str(r) for r in references], hyps, lang=lang)
    except ImportError as exc:  # the grammar package for ``lang`` is missing
        raise PeftctlError(f"metric 'codebleu' cannot parse {lang}: {exc}; {INSTALL_HINT}") from exc
    return float(result["codebleu"])
