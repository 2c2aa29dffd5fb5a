"""The bench report's figures, drawn with matplotlib's Agg renderer (imported only here, lazily).

``plots/`` holds:

- ``pareto_params.png``, ``pareto_memory.png``, ``pareto_time.png``: test score against a
  cost (trainable parameters, log x; peak RSS; train seconds), one point per label. With one
  dataset a point is the label's mean over seeds; with several it is the average of the
  label's per-dataset means and costs, and only labels with a score on every dataset appear
  (an average over fewer datasets is not comparable). The Pareto front is a dashed step line
  and its points are outlined.
- ``bars.png``: per dataset, each label's mean test score with its confidence interval, as
  horizontal bars sorted best first with the score written beside each (≈: not
  distinguishable from the best). Colours never repeat within a figure (45 labels included).
- ``loss_curves.png``: per dataset, the training loss (``log.jsonl``) of each label's
  selected lr, for the first seed that has one.
- ``lr_sensitivity.png``: per dataset, each label tried at several lrs: its mean eval score
  at each lr (log x).

A plot with nothing to show (every cell failed) is not written.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from peftctl.atomic import write_bytes_atomic
from peftctl.bench.aggregate import LrSweep, Row, lr_sweeps, select_lr

DPI = 120
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
CROWDED = 12  # more labels than this: only the Pareto front's points are labelled
# name: (cost field of a Row, axis label, scale applied to the field, log x)
PARETO_PLOTS: dict[str, tuple[str, str, float, bool]] = {
    "pareto_params": ("trainable_params", "trainable parameters", 1.0, True),
    "pareto_memory": ("peak_rss_bytes", "peak RSS (GB)", 1e-9, False),
    "pareto_time": ("train_seconds", "train time (s)", 1.0, False),
}


def plots_available() -> bool:
    """Whether matplotlib can be imported."""
    return importlib.util.find_spec("matplotlib") is not None


def pareto_front(
    points: Sequence[tuple[float, float]],
    x_lower_better: bool = True,
    y_higher_better: bool = True,
) -> list[int]:
    """Indices of the points no other point dominates (at least as good on both axes and
    better on one), ordered by x ascending (then y); equal points are all on the front."""
    sx = 1 if x_lower_better else -1
    sy = -1 if y_higher_better else 1
    costs = [(sx * x, sy * y) for x, y in points]  # both "lower is better" now

    def dominated(i: int) -> bool:
        a = costs[i]
        return any(b[0] <= a[0] and b[1] <= a[1] and b != a for b in costs)

    front = [i for i in range(len(points)) if not dominated(i)]
    return sorted(front, key=lambda i: points[i])


def write_plots(
    plots_dir: Path,
    records: Sequence[dict[str, Any]],
    rows: Sequence[Row],
    close: set[tuple[str, str]] = frozenset(),
) -> dict[str, Path]:
    """Draw every plot of the report into ``plots_dir``; ``{name: path}`` of those written.
    ``close``: the (label, dataset) pairs not distinguishable from their dataset's best."""
    styles = _styles([row.label for row in rows])
    figures = {name: _pareto_figure(rows, styles, *spec) for name, spec in PARETO_PLOTS.items()}
    figures["bars"] = _bars_figure(rows, styles, set(close))
    figures["loss_curves"] = _loss_figure(select_lr(records), rows, styles)
    figures["lr_sensitivity"] = _lr_figure(lr_sweeps(records), styles)
    written = {}
    for name, figure in figures.items():
        if figure is not None:
            written[name] = plots_dir / f"{name}.png"
            save_png(figure, written[name])
    return written


def save_png(figure: Any, path: Path) -> None:
    """Render ``figure`` with Agg and write it to ``path`` atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    write_bytes_atomic(path, buffer.getvalue())


def label_points(rows: Sequence[Row], cost: str) -> list[tuple[str, float, float]]:
    """``(label, cost, mean score)`` per label, averaged over datasets; only labels with a
    score and the cost on every dataset of ``rows``."""
    datasets = {row.dataset for row in rows}
    points = []
    for label in dict.fromkeys(row.label for row in rows):
        mine = [r for r in rows if r.label == label and r.mean is not None]
        costs = [getattr(r, cost) for r in mine]
        if {r.dataset for r in mine} != datasets or None in costs:
            continue
        points.append((label, sum(costs) / len(costs), sum(r.mean for r in mine) / len(mine)))
    return points


def read_losses(run_dir: Path) -> list[tuple[int, float]]:
    """``(step, loss)`` of the training records of ``<run_dir>/log.jsonl`` (the last record
    of a step wins); empty when there is no log."""
    try:
        lines = (Path(run_dir) / "log.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    losses: dict[int, float] = {}
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and _is_number(record.get("loss")) and "step" in record:
            losses[int(record["step"])] = float(record["loss"])
    return sorted(losses.items())


def _pareto_figure(
    rows: Sequence[Row],
    styles: dict[str, tuple[Any, str]],
    cost: str,
    axis: str,
    scale: float,
    log_x: bool,
) -> Any:
    points = label_points(rows, cost)
    if not points:
        return None
    xy = [(x * scale, y * 100) for _, x, y in points]
    front = set(pareto_front(xy))
    entries = len(points) + 1  # and the front's line
    figure = _figure((6.4 + 1.7 * (_legend_columns(entries) if entries > 8 else 0), 4.8))
    ax = figure.subplots()
    for i, (label, _, _) in enumerate(points):
        colour, marker = styles[label]
        on_front = i in front
        ax.scatter(
            *xy[i],
            color=colour,
            marker=marker,
            s=80 if on_front else 45,
            alpha=1.0 if on_front else 0.55,
            edgecolors="black" if on_front else "none",
            linewidths=1.2,
            label=label,
            zorder=3,
        )
        if on_front or len(points) <= CROWDED:
            ax.annotate(label, xy[i], xytext=(5, 4), textcoords="offset points", fontsize=8)
    ordered = [xy[i] for i in pareto_front(xy)]
    xs, ys = [x for x, _ in ordered], [y for _, y in ordered]
    ax.step(xs, ys, where="post", color="grey", linestyle="--", label="Pareto front")
    if log_x:  # symlog keeps a zero-parameter baseline on the axis
        ax.set_xscale("log" if min(x for x, _ in xy) > 0 else "symlog")
    ax.set_xlabel(f"{axis}  (← better)")
    ax.set_ylabel(f"test {_metric_name(rows)} ×100  (↑ better)")
    ax.set_title(f"Test {_metric_name(rows)} vs {axis}\n{_scope(rows)}", fontsize=10)
    ax.grid(True, alpha=0.3)
    _legend(ax, entries)
    return figure


def _bars_figure(
    rows: Sequence[Row], styles: dict[str, tuple[Any, str]], close: set[tuple[str, str]]
) -> Any:
    """Per dataset, each label's mean with its CI as a horizontal bar, best first, its
    score written beside it; ``close``: (label, dataset) not distinguishable from the best."""
    scored = [row for row in rows if row.mean is not None]
    if not scored:
        return None
    datasets = list(dict.fromkeys(row.dataset for row in scored))
    longest = max(sum(1 for r in scored if r.dataset == d) for d in datasets)
    figure, panels = _panels(datasets, columns=4, height=max(2.6, 1.0 + 0.26 * longest))
    for ax, dataset in zip(panels, datasets, strict=True):
        mine = sorted((r for r in scored if r.dataset == dataset), key=lambda r: r.mean)
        means = [r.mean * 100 for r in mine]
        errors = [(r.ci or 0.0) * 100 for r in mine]
        ax.barh(range(len(mine)), means, xerr=errors, capsize=2,
                color=[styles[r.label][0] for r in mine], height=0.7)  # fmt: skip
        top = mine[-1].mean  # ties share "best"
        names = [
            f"{r.label} (best)"
            if r.mean == top
            else r.label + (" ≈" if (r.label, dataset) in close else "")
            for r in mine
        ]
        ax.set_yticks(range(len(mine)), names, fontsize=8)
        ax.set_ylim(-0.6, len(mine) - 0.4)
        for i, (mean, error) in enumerate(zip(means, errors, strict=True)):
            ax.annotate(f"{mean:.1f}", (mean + error, i), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=7)  # fmt: skip
        ax.set_xlim(0, max(m + e for m, e in zip(means, errors, strict=True)) * 1.15 or 1)
        ax.set_title(dataset)
        ax.set_xlabel(f"test {_metric_name(rows)} ×100")
        ax.grid(True, axis="x", alpha=0.3)
    confidence = f"{scored[0].confidence:.0%} CI (Student's t)"
    marks = "; ≈: not distinguishable from the best (paired)" if close else ""
    figure.suptitle(f"Test score per dataset, mean ± {confidence}; {_seeds(rows)}{marks}")
    return figure


def _loss_figure(
    records: Sequence[dict[str, Any]], rows: Sequence[Row], styles: dict[str, tuple[Any, str]]
) -> Any:
    curves = _loss_curves(records)
    if not curves:
        return None
    datasets = list(dict.fromkeys(row.dataset for row in rows if row.dataset in curves))
    figure, panels = _panels(datasets)
    for ax, dataset in zip(panels, datasets, strict=True):
        for label, seed, points in curves[dataset]:
            steps, losses = [s for s, _ in points], [loss for _, loss in points]
            ax.plot(steps, losses, color=styles[label][0], label=f"{label} (seed {seed})")
        ax.set_title(dataset)
        ax.set_xlabel("step")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel("training loss")
        ax.grid(True, alpha=0.3)
    _figure_legend(figure, panels)
    figure.suptitle("Training loss at the selected lr, one seed per label (the first finished)")
    return figure


def _lr_figure(sweeps: dict[tuple[str, str], LrSweep], styles: dict[str, tuple[Any, str]]) -> Any:
    """Per dataset, each swept label's mean eval score against its lr (log axis)."""
    by_dataset: dict[str, list[LrSweep]] = {}
    for sweep in sweeps.values():
        by_dataset.setdefault(sweep.dataset, []).append(sweep)
    if not by_dataset:
        return None
    figure, panels = _panels(list(by_dataset))
    for ax, mine in zip(panels, by_dataset.values(), strict=True):
        for sweep in mine:
            colour, marker = styles.get(sweep.label, ("C0", "o"))
            lrs, scores = zip(*sweep.points, strict=True)
            ax.plot(lrs, [score * 100 for score in scores], color=colour, marker=marker,
                    label=sweep.label)  # fmt: skip
        ax.set_xscale("log")
        tried = sorted({lr for sweep in mine for lr, _ in sweep.points})
        ax.set_xticks(tried, [f"{lr:g}" for lr in tried])
        ax.minorticks_off()
        ax.set_title(mine[0].dataset)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("eval score ×100 (mean over seeds)")
        ax.grid(True, alpha=0.3)
    _figure_legend(figure, panels)
    figure.suptitle("Learning-rate sensitivity: eval score at each lr tried")
    return figure


def _figure_legend(figure: Any, panels: Sequence[Any]) -> None:
    """One legend for every panel's lines: each label once, beside the panels."""
    entries: dict[str, Any] = {}
    for ax in panels:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    if len(panels) == 1 and len(entries) <= 8:
        panels[0].legend(fontsize=8)
    elif entries:
        columns = _legend_columns(len(entries))
        figure.set_figwidth(figure.get_figwidth() + 1.9 * columns)
        figure.legend(list(entries.values()), list(entries), loc="outside right upper",
                      fontsize=7, ncol=columns)  # fmt: skip


def _panels(
    datasets: Sequence[str], columns: int = 3, height: float = 3.6
) -> tuple[Any, list[Any]]:
    """A figure with a panel per dataset, up to ``columns`` a line (spare panels hidden),
    and the panels in order."""
    columns = min(len(datasets), columns)
    lines = -(-len(datasets) // columns)
    figure = _figure((4.8 * columns, height * lines))
    flat = list(figure.subplots(lines, columns, squeeze=False).flat)
    for ax in flat[len(datasets) :]:
        ax.set_visible(False)
    return figure, flat[: len(datasets)]


def _loss_curves(records: Sequence[dict[str, Any]]) -> dict[str, list[tuple[str, Any, list]]]:
    """Per dataset, ``(label, seed, points)`` of the selected cell with the earliest seed."""
    seed_order = list(dict.fromkeys(r.get("seed") for r in records))
    selected = sorted(
        (r for r in records if r.get("selected")), key=lambda r: seed_order.index(r.get("seed"))
    )
    curves: dict[str, list[tuple[str, Any, list]]] = {}
    seen = set()
    for record in selected:
        key = (record.get("label"), record.get("dataset"))
        points = read_losses(Path(record["run_dir"])) if record.get("run_dir") else []
        if key in seen or not points:
            continue
        seen.add(key)
        curves.setdefault(record["dataset"], []).append((record["label"], record["seed"], points))
    return curves


def _figure(size: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


def _styles(labels: Sequence[str]) -> dict[str, tuple[Any, str]]:
    """A colour and a marker per label, in order of first appearance; no two labels share a
    colour (tab10, tab20, then evenly spaced hues of ``turbo``, neighbours far apart)."""
    from matplotlib import colormaps

    unique = list(dict.fromkeys(labels))
    n = len(unique)
    if n <= 20:
        palette = colormaps["tab10" if n <= 10 else "tab20"].colors
        colours = [palette[i] for i in range(n)]
    else:
        stride = next(k for k in range(n // 3, n) if math.gcd(k, n) == 1)
        colours = [colormaps["turbo"](0.04 + 0.92 * ((i * stride) % n) / (n - 1)) for i in range(n)]
    return {label: (colours[i], MARKERS[i % len(MARKERS)]) for i, label in enumerate(unique)}


def _legend(ax: Any, count: int) -> None:
    """A legend of ``count`` entries: inside the plot when short, else beside it."""
    if count <= 8:
        ax.legend(fontsize=8, loc="best")
        return
    ax.legend(fontsize=7, ncol=_legend_columns(count), loc="upper left", bbox_to_anchor=(1.01, 1))


def _legend_columns(count: int) -> int:
    """Legend columns of at most 20 entries each."""
    return -(-count // 20)


def _metric_name(rows: Sequence[Row]) -> str:
    names = {row.primary_metric for row in rows if row.primary_metric}
    return names.pop() if len(names) == 1 else "primary score"


def _scope(rows: Sequence[Row]) -> str:
    datasets = list(dict.fromkeys(row.dataset for row in rows))
    where = datasets[0] if len(datasets) == 1 else f"average over {len(datasets)} datasets"
    return f"{where}; {_seeds(rows)}"


def _seeds(rows: Sequence[Row]) -> str:
    counts = sorted({row.n for row in rows if row.n})
    if not counts:
        return "no seeds finished"
    if len(counts) == 1:
        return f"mean of {counts[0]} seed{'s' if counts[0] != 1 else ''}"
    return f"mean of {counts[0]}-{counts[-1]} seeds"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
