"""The bench report: ``results.csv``, ``summary.csv``, ``summary.md``, ``table.tex`` and
``plots/``, written from the cells' result records. No torch; matplotlib only for the plots.

Scores are test primary metrics ×100: the mean over seeds of each seed's selected cell (the lr
with the best eval score), ± the 95% confidence half-width (Student's t) when two or more
seeds finished. See :mod:`peftctl.bench.aggregate` for the numbers and
:mod:`peftctl.bench.plots` for the figures.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from peftctl.atomic import write_text_atomic
from peftctl.bench.aggregate import (
    COSTS,
    LrSweep,
    MethodRow,
    Row,
    is_finished,
    lr_sweeps,
    method_ranking,
    primary_score,
    select_lr,
    summarise,
)
from peftctl.bench.paired import Paired, compare

RESULTS_CSV = "results.csv"
SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
TABLE_TEX = "table.tex"
PLOTS_DIR = "plots"
PLOTS_SKIPPED = "plots skipped: pip install 'peftctl[plots]'"
NONE = "—"
CONFIDENCE = 0.95
SUMMARY_COLUMNS = (
    *("label", "method", "dataset", "primary_metric", "n", "seeds", "mean", "std", "ci95"),
    *("eval_mean", "lrs", "lr_swept", "test_is_eval", "complete", *COSTS, "mergeable"),
    *("vs_best", "vs_best_low", "vs_best_high", "mcnemar_p", "p_best", "lr_spread", "lr_margin"),
)
VERSIONED = ("torch", "transformers", "peft", "peftctl")
RESULT_TAIL = (
    "pscp",
    "eval_invalid_rate",
    "test_invalid_rate",
    "trainable_params",
    "total_params",
    "adapter_bytes",
    "peak_rss_bytes",
    "peak_gpu_bytes",
    "train_seconds",
    "tokens_per_second",
    "steps",
    "final_train_loss",
    "inference_flops",
    "forgetting",
    "precision",
    "device",
    "threads",
    "cpu",
    *(f"{name}_version" for name in VERSIONED),
    "cell_seconds",
    "id",
    "run_dir",
)


def write_report(
    out_dir: Path, records: Sequence[dict[str, Any]], *, title: str, plots: bool = True
) -> dict[str, Path]:
    """Write every report file into ``out_dir``; ``{path relative to out_dir: path}``.

    Plots are drawn when ``plots`` is true and matplotlib is importable; otherwise
    ``summary.md`` says how to get them."""
    out_dir = Path(out_dir)
    marked = select_lr(records)
    rows = summarise(marked, CONFIDENCE)
    ranking = method_ranking(rows)
    paired = compare(marked, rows)
    sweeps = lr_sweeps(records)
    files = {
        RESULTS_CSV: csv_text(results_rows(marked), result_columns(marked)),
        SUMMARY_CSV: csv_text(summary_rows(rows, paired, sweeps), SUMMARY_COLUMNS),
        TABLE_TEX: latex_table(rows, ranking, title, paired),
    }
    figures, skipped = _plots(out_dir, marked, rows, plots, paired)
    files[SUMMARY_MD] = summary_markdown(
        title, marked, rows, ranking, figures, skipped, paired, sweeps
    )
    written = {}
    for name, text in files.items():
        write_text_atomic(out_dir / name, text)
        written[name] = out_dir / name
    for path in figures.values():
        written[path.relative_to(out_dir).as_posix()] = path
    return written


# -- results.csv ------------------------------------------------------------------------


def results_rows(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per cell (finished or not) for ``results.csv``; None where unknown."""
    marked = select_lr(records)
    eval_names, test_names = _metric_names(marked, "eval"), _metric_names(marked, "test")
    return [_result_row(r, eval_names, test_names) for r in marked]


def result_columns(records: Sequence[dict[str, Any]]) -> list[str]:
    """The columns of ``results.csv`` for ``records``."""
    eval_names, test_names = _metric_names(records, "eval"), _metric_names(records, "test")
    return list(_result_row({}, eval_names, test_names))


def _result_row(r: dict[str, Any], eval_names: list[str], test_names: list[str]) -> dict[str, Any]:
    hardware = r.get("hardware") or {}
    versions = r.get("versions") or {}
    row = {key: r.get(key) for key in ("label", "method", "dataset", "seed", "lr")}
    row.update(selected=r.get("selected"), status=r.get("status"), error=r.get("error"))
    row.update(
        primary_metric=r.get("primary_metric"),
        eval_primary=primary_score(r, "eval"),
        test_primary=primary_score(r, "test"),
        test_is_eval=r.get("test_is_eval"),
    )
    row.update({f"eval_{name}": _metric(r, "eval", name) for name in eval_names})
    row.update({f"test_{name}": _metric(r, "test", name) for name in test_names})
    tail = {key: r.get(key) for key in RESULT_TAIL}
    tail.update(
        eval_invalid_rate=(r.get("eval") or {}).get("invalid_rate"),
        test_invalid_rate=(r.get("test") or {}).get("invalid_rate"),
        forgetting=(r.get("forgetting") or {}).get("increase"),
        device=hardware.get("device"),
        threads=hardware.get("threads"),
        cpu=cpu_text(hardware.get("cpu")),
        **{f"{name}_version": versions.get(name) for name in VERSIONED},
    )
    return {**row, **tail}


def cpu_text(cpu: Any) -> str | None:
    """A run card's CPU description in a few words: its model and bf16 features."""
    if not isinstance(cpu, dict):
        return cpu
    features = [name for name in ("amx", "avx512_bf16") if cpu.get(name)]
    model = str(cpu.get("cpu_model") or "cpu")
    return f"{model} (+{', +'.join(features)})" if features else model


def _metric_names(records: Iterable[dict[str, Any]], split: str) -> list[str]:
    names = {name for r in records for name in ((r.get(split) or {}).get("metrics") or {})}
    return sorted(names)


def _metric(record: dict[str, Any], split: str, name: str) -> Any:
    return ((record.get(split) or {}).get("metrics") or {}).get(name)


# -- summary.csv ------------------------------------------------------------------------


def summary_rows(
    rows: Sequence[Row],
    paired: Paired | None = None,
    sweeps: dict[tuple[str, str], LrSweep] | None = None,
) -> list[dict[str, Any]]:
    """One flat row per (label, dataset) for ``summary.csv`` (columns: ``SUMMARY_COLUMNS``):
    with ``paired``, the per-item difference from the dataset's best (fractions, 95 %
    interval), McNemar's p and the probability of being best; with ``sweeps``, the eval
    score's spread over the lrs tried and the best lr's margin."""
    return [_summary_row(row, paired, sweeps or {}) for row in rows]


def _summary_row(
    row: Row, paired: Paired | None, sweeps: dict[tuple[str, str], LrSweep]
) -> dict[str, Any]:
    values = {name: getattr(row, name, None) for name in SUMMARY_COLUMNS}
    values["ci95"] = row.ci
    values["seeds"] = " ".join(str(seed) for seed in row.seeds)
    values["lrs"] = " ".join(f"{lr:g}" for lr in row.lrs)
    versus = paired.versus.get((row.label, row.dataset)) if paired else None
    if versus is not None:
        values.update(
            vs_best=versus.delta,
            vs_best_low=versus.low,
            vs_best_high=versus.high,
            mcnemar_p=versus.mcnemar_p,
        )
    if paired is not None:
        values["p_best"] = paired.p_best.get((row.label, row.dataset))
    sweep = sweeps.get((row.label, row.dataset))
    if sweep is not None:
        values.update(lr_spread=sweep.spread, lr_margin=sweep.margin)
    return values


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """``rows`` as CSV text with a header; None is written as an empty field."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


# -- summary.md -------------------------------------------------------------------------


def summary_markdown(
    title: str,
    records: Sequence[dict[str, Any]],
    rows: Sequence[Row],
    ranking: Sequence[MethodRow],
    figures: dict[str, Path] | None = None,
    plots_note: str | None = None,
    paired: Paired | None = None,
    sweeps: dict[tuple[str, str], LrSweep] | None = None,
) -> str:
    """The report as a markdown document (``figures``: plot paths, linked relatively)."""
    parts = [f"# {title}", count_line(records)]
    if rows:
        parts += [
            "## Test scores",
            _score_caption(rows, paired),
            _markdown_table(*score_table(rows, ranking, "md", paired)),
        ]
        if paired is not None and paired.versus:
            parts += ["## Against the best", _versus_caption(), versus_tables(rows, paired)]
        if sweeps:
            parts += ["## Learning-rate sensitivity", _sweep_caption(), sweep_table(sweeps)]
        parts += ["## Costs", _cost_caption(), _markdown_table(*cost_table(rows, ranking))]
        if any(row.mergeable is not None for row in rows):
            table = _markdown_table(*deploy_table(rows, ranking))
            parts += ["## Deployability", _deploy_caption(), table]
    if figures or plots_note:
        links = [f"![{name}]({PLOTS_DIR}/{path.name})" for name, path in (figures or {}).items()]
        parts += ["## Plots", "\n\n".join([*links, *([plots_note] if plots_note else [])])]
    notes = report_notes(records, rows, ranking)
    if notes:
        parts += ["## Notes", "\n".join(f"- {note}" for note in notes)]
    return "\n\n".join(parts) + "\n"


def count_line(records: Sequence[dict[str, Any]]) -> str:
    """``"4 finished, 1 failed, 1 missing of 6 cells."`` (other states listed when present);
    a cell scored in several modes counts once."""
    records = list({r.get("name", id(r)): r for r in records}.values())
    counts = Counter(r.get("status") or "missing" for r in records)
    shown = ["finished", "failed", "missing"]
    shown += sorted(status for status in counts if status not in shown)
    text = ", ".join(f"{counts[status]} {status}" for status in shown)
    return f"{text} of {len(records)} cells."


def score_table(
    rows: Sequence[Row], ranking: Sequence[MethodRow], style: str, paired: Paired | None = None
) -> tuple[list[str], list[list[str]]]:
    """Header and body of the main table: a line per label, a column per dataset, then
    avg and rank; the best per dataset and the best avg in bold (``style``: "md" or "tex").
    With ``paired``: scores not distinguishable from their dataset's best marked ≈, and the
    probability of the best avg beside the rank."""
    datasets = _ordered(row.dataset for row in rows)
    cells = {(row.label, row.dataset): row for row in rows}
    best = {d: _best([r.mean for r in rows if r.dataset == d]) for d in datasets}
    best_avg = _best([m.average for m in ranking if m.rank is not None])  # complete averages
    body = []
    for method in ranking:
        line = [_text(method.label, style)]
        for dataset in datasets:
            row = cells.get((method.label, dataset))
            text = score_text(row, style) if row else ""
            if row and _is_best(row.mean, best[dataset]):
                text = _bold(text, style)
            elif row and paired and _close_to_best(paired, method.label, dataset):
                text += " $\\approx$" if style == "tex" else " ≈"
            line.append(text)
        partial = method.average is not None and method.datasets < len(datasets)
        avg = _none(style) if method.average is None else _percent(method.average)
        avg += "*" if partial else ""
        line.append(_bold(avg, style) if _is_best(method.average, best_avg) else avg)
        rank = str(method.rank) if method.rank is not None else _none(style)
        share = paired.p_best_average.get(method.label) if paired else None
        line.append(rank if share is None else f"{rank} ({share:.2f})")
        body.append(line)
    rank = "rank (P best)" if paired and paired.p_best_average else "rank"
    header = ["method", *(_text(d, style) for d in datasets), "avg", rank]
    return header, body


def _close_to_best(paired: Paired, label: str, dataset: str) -> bool:
    versus = paired.versus.get((label, dataset))
    return versus is not None and not versus.distinguishable


def versus_tables(rows: Sequence[Row], paired: Paired) -> str:
    """Per dataset: each method's per-item difference from the best (×100, 95 % paired
    bootstrap interval), McNemar's p, the probability of being best; best first."""
    parts = []
    for dataset in _ordered(row.dataset for row in rows):
        mine = [r for r in rows if r.dataset == dataset and (r.label, dataset) in paired.versus]
        if not mine:
            continue
        mine.sort(key=lambda r: -paired.versus[r.label, dataset].delta)
        body = []
        for row in mine:
            versus = paired.versus[row.label, dataset]
            same = "best" if row.label == versus.best else "≈" if not versus.distinguishable else ""
            low, high = versus.low * 100, versus.high * 100
            interval = f"{versus.delta * 100:+.1f} [{low:+.1f}, {high:+.1f}]"
            share = paired.p_best.get((row.label, dataset))
            body.append([row.label, interval, f"{versus.mcnemar_p:.3g}", _share(share), same])
        header = ["method", "Δ vs best [95% CI]", "McNemar p", "P(best)", ""]
        items = paired.versus[mine[0].label, dataset].items
        parts.append(f"**{dataset}** ({items} paired items)\n\n" + _markdown_table(header, body))
    return "\n\n".join(parts)


def sweep_table(sweeps: dict[tuple[str, str], LrSweep]) -> str:
    """Per swept (label, dataset): the eval score ×100 at each lr, its spread and margin."""
    body = []
    for sweep in sweeps.values():
        scores = ", ".join(f"{lr:g}: {score * 100:.1f}" for lr, score in sweep.points)
        margin, spread = f"{sweep.margin * 100:.1f}", f"{sweep.spread * 100:.1f}"
        body.append([sweep.label, sweep.dataset, scores, spread, margin])
    header = ["method", "dataset", "lr: eval score", "spread", "best lr's margin"]
    return _markdown_table(header, body)


def _sweep_caption() -> str:
    return (
        "For the methods tried at several lrs: the eval score ×100 at each lr (the mean over "
        "the seeds that finished it: what lr selection compares), the spread between the best "
        "and the worst lr, and the best lr's margin over the runner-up. A small spread: the "
        "method is insensitive to its lr over this range; a small margin: another lr would "
        "have done as well."
    )


def _share(value: float | None) -> str:
    return NONE if value is None else f"{value:.2f}"


def _versus_caption() -> str:
    return (
        "Each method against its dataset's best on the same test items (paired by id within "
        "each seed, seeds pooled): the mean per-item difference in correctness ×100 with its "
        "95% paired bootstrap interval (2000 resamples of the items), McNemar's exact test, "
        "and the probability of being best (bootstrap over seeds and items). ≈: the interval "
        "contains 0, not distinguishable from the best."
    )


def score_text(row: Row, style: str = "md") -> str:
    """``"83.1 ± 1.2"`` (×100, the CI half-width); the mean alone with one seed."""
    if row.mean is None:
        return _none(style)
    plus = " $\\pm$ " if style == "tex" else " ± "
    return _percent(row.mean) + (plus + _percent(row.ci) if row.ci is not None else "")


def cost_table(
    rows: Sequence[Row], ranking: Sequence[MethodRow]
) -> tuple[list[str], list[list[str]]]:
    """Header and body of the costs table: per label, the mean over its datasets."""
    columns = {
        "trainable params": ("trainable_params", _count),
        "adapter size": ("adapter_bytes", _size),
        "peak RSS (GB)": ("peak_rss_bytes", lambda v: f"{v / 1e9:.2f}"),
        "train s": ("train_seconds", lambda v: f"{v:.1f}"),
        "tokens/s": ("tokens_per_second", lambda v: f"{v:,.0f}"),
        "PSCP": ("pscp", lambda v: f"{v:.3f}"),
        "forgetting": ("forgetting", lambda v: f"{v:+.3f}"),
    }
    body = [[method.label, *_label_means(rows, method.label, columns)] for method in ranking]
    return ["method", *columns], body


def _label_means(
    rows: Sequence[Row], label: str, columns: dict[str, tuple[str, Any]], style: str = "md"
) -> list[str]:
    """Per column ``(Row field, format)``: the label's mean over its datasets, formatted."""
    mine = [row for row in rows if row.label == label]
    cells = []
    for field, fmt in columns.values():
        values = [getattr(row, field) for row in mine if getattr(row, field) is not None]
        cells.append(_text(fmt(sum(values) / len(values)), style) if values else _none(style))
    return cells


def deploy_table(
    rows: Sequence[Row], ranking: Sequence[MethodRow], style: str = "md"
) -> tuple[list[str], list[list[str]]]:
    """Header and body of the deployability table: per label, means over its datasets."""
    columns = {
        "adapter size": ("adapter_bytes", _size),
        "Δ merged": ("merge_delta", lambda v: f"{100 * v:+.1f}"),
        "Δ GGUF q8_0": ("gguf_delta", lambda v: f"{100 * v:+.1f}"),
        "ms/token": ("ms_per_token_adapter", lambda v: f"{v:.1f}"),
        "ms/token merged": ("ms_per_token_merged", lambda v: f"{v:.1f}"),
    }
    body = []
    for method in ranking:
        known = [r.mergeable for r in rows if r.label == method.label and r.mergeable is not None]
        mergeable = ("yes" if all(known) else "no") if known else NONE
        means = _label_means(rows, method.label, columns, style)
        body.append([_text(method.label, style), mergeable, *means])
    return ["method", "mergeable", *columns], body


def _deploy_caption() -> str:
    return (
        "Measured on the first seed's cells. Δ: the score (×100, the reported split) after "
        "merging the adapter into the base (fp32) and after exporting the merged model as a "
        "q8_0 GGUF read back by transformers, minus the adapter's own; ms/token: greedy "
        "decode time per token (after the first, one process, the eval precision) with the "
        "adapter applied and merged."
    )


def report_notes(
    records: Sequence[dict[str, Any]], rows: Sequence[Row], ranking: Sequence[MethodRow]
) -> list[str]:
    """What a reader must know to trust the tables: shared splits, chosen lrs, missing seeds,
    partial averages and failed cells."""
    swept = {row.dataset for row in rows if row.lr_swept}
    notes = [
        f"{dataset}: the test split is the eval split"
        + (
            ", so lr selection and the reported score use the same examples (optimistic for "
            "the methods whose lr was swept)."
            if dataset in swept
            else " (no labelled test split): scores are eval-split scores."
        )
        for dataset in _ordered(row.dataset for row in rows if row.test_is_eval)
    ]
    notes += [_lr_note(row, records) for row in rows if row.lr_swept and row.n]
    notes += [_incomplete_note(row, records) for row in rows if not row.complete]
    datasets = len(_ordered(row.dataset for row in rows))
    notes += [
        f"{m.label}: avg* is over {m.datasets} of {datasets} datasets (not comparable)."
        for m in ranking
        if m.average is not None and m.datasets < datasets
    ]
    notes += [_failure_note(r) for r in records if r.get("status") not in ("finished", "missing")]
    return notes


def _score_caption(rows: Sequence[Row], paired: Paired | None = None) -> str:
    metrics = {row.dataset: row.primary_metric for row in rows if row.primary_metric}
    names = set(metrics.values())
    metric = names.pop() if len(names) == 1 else ", ".join(f"{d}: {m}" for d, m in metrics.items())
    confidence = f"{rows[0].confidence:.0%}"
    return (
        f"Test {metric} ×100 at the lr with the best eval score, mean ± {confidence} confidence "
        "half-width over seeds (Student's t; the mean alone with one seed). Best per dataset in "
        "bold. avg: the mean over datasets; rank: by avg (ties share a rank; an avg* over fewer "
        "datasets is not ranked)."
        + (
            " ≈: not distinguishable from the best (see below); P best: the probability of "
            "the best avg."
            if paired is not None and paired.versus
            else ""
        )
    )


def _cost_caption() -> str:
    return (
        "Means over the selected cells of every dataset. Peak RSS is the worker's (training, "
        "scoring and forgetting); forgetting is the increase in cross-entropy on general text "
        "(nats/token)."
    )


def _markdown_table(header: list[str], body: list[list[str]]) -> str:
    align = ["---", *["---:"] * (len(header) - 1)]
    lines = [header, align, *body]
    return "\n".join(
        "| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in lines
    )


def _lr_note(row: Row, records: Sequence[dict[str, Any]]) -> str:
    tried = sorted({r["lr"] for r in _cells(records, row) if r.get("lr") is not None})
    chosen = ", ".join(f"{lr:g} (seed {seed})" for lr, seed in zip(row.lrs, row.seeds, strict=True))
    options = ", ".join(f"{lr:g}" for lr in tried)
    return f"{row.label} × {row.dataset}: lr chosen {chosen} from {options}."


def _incomplete_note(row: Row, records: Sequence[dict[str, Any]]) -> str:
    cells = _cells(records, row)
    seeds = _ordered(r.get("seed") for r in cells)
    unfinished = sum(not is_finished(r) for r in cells)
    among = " (lrs chosen among the finished ones)" if row.lr_swept else ""
    return (
        f"{row.label} × {row.dataset}: {row.n} of {len(seeds)} seeds scored; {unfinished} of "
        f"{len(cells)} cells unfinished{among}."
    )


def _failure_note(record: dict[str, Any]) -> str:
    name = (
        record.get("name") or f"{record.get('label')}-{record.get('dataset')}-s{record.get('seed')}"
    )
    error = record.get("error")
    return f"{record.get('status')}: {name}" + (f": {error}" if error else "")


def _cells(records: Sequence[dict[str, Any]], row: Row) -> list[dict[str, Any]]:
    return [r for r in records if r.get("label") == row.label and r.get("dataset") == row.dataset]


# -- table.tex --------------------------------------------------------------------------


def latex_table(
    rows: Sequence[Row], ranking: Sequence[MethodRow], title: str = "", paired: Paired | None = None
) -> str:
    """The main table as a booktabs LaTeX tabular (needs ``\\usepackage{booktabs}``)."""
    header, body = score_table(rows, ranking, "tex", paired)
    marks = "; $\\approx$: not distinguishable from the best" if paired and paired.versus else ""
    rank = "Rank (P best)" if "P" in header[-1] else "Rank"
    lines = [
        f"% {' '.join(title.split())}: test primary score x100, mean $\\pm$ 95% CI half-width"
        + marks,
        f"\\begin{{tabular}}{{l{'c' * (len(header) - 1)}}}",
        "\\toprule",
        " & ".join(["Method", *header[1:-2], "Avg", rank]) + " \\\\",
        "\\midrule",
        *(" & ".join(line) + " \\\\" for line in body),
        "\\bottomrule",
        "\\end{tabular}",
    ]
    if any(row.mergeable is not None for row in rows):
        lines += ["", *_latex_deploy(rows, ranking)]
    return "\n".join(lines) + "\n"


def _latex_deploy(rows: Sequence[Row], ranking: Sequence[MethodRow]) -> list[str]:
    """The deployability table as a second tabular."""
    header, body = deploy_table(rows, ranking, "tex")
    names = [name.replace("Δ", "$\\Delta$").replace("_", "\\_") for name in header]
    return [
        "% deployability (first seed): score change x100 after merging / GGUF q8_0, ms per token",
        f"\\begin{{tabular}}{{l{'c' * (len(header) - 1)}}}",
        "\\toprule",
        " & ".join(["Method", *names[1:]]) + " \\\\",
        "\\midrule",
        *(" & ".join(line) + " \\\\" for line in body),
        "\\bottomrule",
        "\\end{tabular}",
    ]


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)


# -- helpers ----------------------------------------------------------------------------


def _plots(
    out_dir: Path,
    records: Sequence[dict[str, Any]],
    rows: Sequence[Row],
    wanted: bool,
    paired: Paired,
) -> tuple[dict[str, Path], str | None]:
    if not wanted:
        return {}, None
    from peftctl.bench import plots

    if not plots.plots_available():
        return {}, PLOTS_SKIPPED
    close = {key for key in paired.versus if _close_to_best(paired, *key)}
    return plots.write_plots(out_dir / PLOTS_DIR, records, rows, close), None


def _text(text: str, style: str) -> str:
    return latex_escape(text) if style == "tex" else text


def _bold(text: str, style: str) -> str:
    return f"\\textbf{{{text}}}" if style == "tex" else f"**{text}**"


def _none(style: str) -> str:
    return "--" if style == "tex" else NONE


def _percent(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f}"


def _best(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _is_best(value: float | None, best: float | None) -> bool:
    return value is not None and best is not None and round(value, 10) == round(best, 10)


def _ordered(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def _count(value: float) -> str:
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.0f}"


def _size(value: float) -> str:
    for limit, suffix in ((1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
        if value >= limit:
            return f"{value / limit:.3g} {suffix}"
    return f"{value:.0f} B"
