"""The bench verdicts the Compare tab shows: per bench on the page, each method against its
dataset's best on the same test items (``≈`` when not distinguishable) and the probability of
having the best average (see :mod:`peftctl.bench.paired`; the numbers of ``summary.md``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from peftctl.bench.aggregate import Row, summarise
from peftctl.bench.paired import Paired, compare


@dataclass(frozen=True)
class BenchVerdict:
    """One bench source's rows and paired statistics."""

    source: str
    rows: list[Row]
    paired: Paired


def bench_verdicts(records: Sequence[dict[str, Any]]) -> list[BenchVerdict]:
    """A verdict per bench among ``records`` (:func:`peftctl.ui.data.load_records`) whose
    cells hold per-item predictions; plain runs have none."""
    sources = dict.fromkeys(r["source"] for r in records if r.get("bench"))
    found = []
    for source in sources:
        mine = [r for r in records if r["source"] == source and r.get("bench")]
        rows = summarise(mine)
        paired = compare(mine, rows)
        if paired.versus:
            found.append(BenchVerdict(source, rows, paired))
    return found


def mark(verdicts: Sequence[BenchVerdict], record: dict[str, Any]) -> str:
    """``best``, ``≈ best`` or the difference from the best ×100 with its 95 % interval, for
    a bench cell; empty for a plain run or a cell without a paired comparison."""
    for verdict in verdicts:
        if verdict.source != record.get("source"):
            continue
        versus = verdict.paired.versus.get((record.get("label"), record.get("dataset")))
        if versus is None:
            return ""
        if versus.best == record.get("label"):
            return "best"
        if not versus.distinguishable:
            return "≈ best"
        return f"{versus.delta * 100:+.1f} [{versus.low * 100:+.1f}, {versus.high * 100:+.1f}]"
    return ""


def p_best_rows(verdicts: Sequence[BenchVerdict]) -> list[dict[str, Any]]:
    """``{bench, method, P(best)}`` per method with a probability of the best average, most
    probable first within each bench."""
    rows = []
    for verdict in verdicts:
        shares = sorted(verdict.paired.p_best_average.items(), key=lambda item: -item[1])
        rows += [{"bench": verdict.source, "method": m, "P(best)": p} for m, p in shares]
    return rows


def verdict_markdown(verdicts: Sequence[BenchVerdict]) -> str:
    """Per bench, the report's "Against the best" tables."""
    from peftctl.bench.report import versus_tables

    if not verdicts:
        return (
            "No paired verdicts: serve a bench directory whose cells saved their test "
            "predictions (`peftctl bench run`)."
        )
    parts = [
        f"### {v.source}: against the best\n\n{versus_tables(v.rows, v.paired)}" for v in verdicts
    ]
    return "\n\n".join(parts)
