"""The Gradio page of ``peftctl ui``: Results, Compare, Run and Launch tabs over the served
folders and the jobs folder. Data comes from :mod:`peftctl.ui.data` (read fresh; a timer
reloads when files change on disk), tables from :mod:`peftctl.ui.table`, charts from
:mod:`peftctl.ui.charts`, jobs from :mod:`peftctl.ui.launch`."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from peftctl.errors import PeftctlError
from peftctl.run_files import ADAPTER, METRICS, RECIPE, RUN_CARD
from peftctl.ui import charts, data, table, verdicts

DEFAULT_X = "trainable_params"
DEFAULT_Y = "test_primary"
REFRESH_SECONDS = 2.0
#: Fonts of this machine only: gradio's default theme would fetch Google fonts.
SYSTEM_FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif")
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")
CSS = (
    table.TABLE_CSS
    + """
#launch-preview textarea, #launch-preview pre { font-size: 0.85em; }
.peftctl-empty { color: var(--body-text-color-subdued); }
"""
)


class Page:
    """The served folders, the jobs folder and what the page last loaded from them."""

    def __init__(self, roots: list[Path], jobs_root: Path | None = None) -> None:
        self.roots = roots
        self.jobs_root = jobs_root
        self.records: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []
        self.verdicts: list[verdicts.BenchVerdict] = []
        self.loaded_at = ""
        self.job_states: dict[str, str] = {}
        self.downloads = Path(tempfile.mkdtemp(prefix="peftctl-ui-"))
        self.reload()

    def reload(self) -> None:
        self.records = data.load_records(self.roots)
        for record in self.records:  # a stopped or failed launch never writes its run card
            state = self.job_states.get(str(Path(record["run_dir"]).resolve()))
            if state in ("stopped", "failed") and record.get("status") == "running":
                record["status"] = state
        self.rows = data.table_rows(self.records)
        self.verdicts = verdicts.bench_verdicts(self.records)
        self.loaded_at = time.strftime("%H:%M:%S")

    def fingerprint(self) -> tuple:
        """Changes whenever a run or cell starts, logs, finishes or fails."""
        stamps = []
        patterns = (f"**/{RUN_CARD}", f"**/{METRICS}", f"**/{RECIPE}", "**/state/*.json")
        for root in self.roots:
            for pattern in (*patterns, "**/bench.json"):
                for path in root.glob(pattern):
                    if "/.launch/" not in str(path):
                        stamps.append((str(path), path.stat().st_mtime_ns))
        return (tuple(sorted(stamps)), tuple(sorted(self.job_states.items())))

    def run_ids(self) -> list[str]:
        return [r["id"] for r in self.records]

    def close(self) -> None:
        shutil.rmtree(self.downloads, ignore_errors=True)


def build_app(roots: list[Path], *, read_only: bool = False, jobs_root: Path | None = None):
    """The ``gr.Blocks`` page over ``roots`` (launch tab left out when ``read_only``; launched
    jobs go to ``jobs_root``, which should be one of ``roots`` or inside one)."""
    import gradio as gr

    page = Page(roots, jobs_root)
    with gr.Blocks(title="peftctl", analytics_enabled=False, delete_cache=(600, 600)) as app:
        app.peftctl_page = page  # the CLI removes its temp folder when the server stops
        served = ", ".join(f"`{r}`" for r in roots)
        gr.Markdown(f"# peftctl\nServing {served}")
        fingerprint = gr.State(page.fingerprint())
        with gr.Tabs() as tabs:
            with gr.Tab("Results", id="results"):
                results = _results_tab(gr, page)
            with gr.Tab("Compare", id="compare") as compare_tab:
                compare = _compare_tab(gr, page)
            with gr.Tab("Run", id="run") as run_tab:
                run = _run_tab(gr, page)
            launcher = None
            if not read_only:
                from peftctl.ui.launch import Launcher

                launcher = Launcher(jobs_root or roots[0])
                app.peftctl_launcher = launcher
                with gr.Tab("Launch", id="launch"):
                    jobs = _launch_tab(gr, page, launcher)
        for tab in (results, compare):  # each tab fills itself when the page opens
            fn, inputs = tab["load"]
            app.load(fn, inputs, tab["outputs"])
        app.load(*compare["verdicts_load"], compare["verdicts"])
        # charts take their width when drawn: draw them again once their tab is visible
        compare_tab.select(*compare["load"], compare["outputs"])
        run_tab.select(*run["load"], run["outputs"])
        app.load(_open_from_link(gr, page), None, [tabs, run["choice"]])
        timer = gr.Timer(REFRESH_SECONDS)

        def tick(previous: tuple, query: str, view: str, group: str, columns: list[str],
                 *compare_inputs: Any):  # fmt: skip
            if launcher is not None:
                page.job_states = launcher.states()
            current = page.fingerprint()
            if current == previous:
                return [gr.skip()] * 10
            page.reload()
            html, status, csv = _results(page, query, view, group, columns)
            plot, front = _compare(gr, page, *compare_inputs)
            p_best, against = _verdicts(gr, page)
            choice = gr.Dropdown(choices=page.run_ids())
            return current, html, status, csv, plot, front, p_best, against, choice, gr.skip()

        timer.tick(
            tick,
            [fingerprint, *results["inputs"], *compare["inputs"]],
            [
                fingerprint,
                *results["outputs"],
                *compare["outputs"],
                *compare["verdicts"],
                run["choice"],
                run["detail"],
            ],
        )
        if launcher is not None:
            timer.tick(jobs["fn"], jobs["inputs"], jobs["outputs"])
    return app


def _open_from_link(gr, page: Page):
    """``?run=<id>`` (a click on a Compare point) opens that run on the Run tab."""

    def opened(request):
        wanted = (request.query_params or {}).get("run") if request else None
        if wanted and wanted in page.run_ids():
            return gr.Tabs(selected="run"), [wanted]
        ids = page.run_ids()
        return gr.skip(), ids[:1]

    opened.__annotations__ = {"request": gr.Request}  # how gradio knows to pass the request
    return opened


# -- Results ---------------------------------------------------------------------------------


def _results_tab(gr, page: Page) -> dict[str, Any]:
    columns = _all_columns(page)
    with gr.Row():
        query = gr.Textbox(
            label="Filter (applied as you type)",
            placeholder="dataset=sst2 test_primary>0.8 lora   (key=value, !=, >, <, >=, <=, ~)",
            elem_id="filter",
            scale=4,
        )
        view = gr.Radio(["cells", "mean over seeds"], value="cells", label="View", scale=2)
        group = gr.Dropdown(
            list(table.GROUP_CHOICES), value="none", label="Group by", elem_id="group-by", scale=1
        )
    with gr.Accordion("Columns", open=False, elem_id="columns-accordion"):
        picked = gr.CheckboxGroup(
            columns,
            value=[c for c in table.DEFAULT_COLUMNS if c in columns],
            label="Columns shown (click a header to sort)",
            elem_id="column-picker",
        )
    status = gr.Markdown(elem_id="results-status")
    html = gr.HTML(elem_id="results-table")
    csv = gr.DownloadButton("Download CSV (all columns)", elem_id="download-csv")
    inputs = [query, view, group, picked]
    outputs = [html, status, csv]
    fn = lambda q, v, g, c: _results(page, q, v, g, c)  # noqa: E731
    query.change(fn, inputs, outputs, trigger_mode="always_last", show_progress="hidden")
    query.submit(fn, inputs, outputs)
    for control in (view, group, picked):
        control.change(fn, inputs, outputs, show_progress="hidden")
    return {"inputs": inputs, "outputs": outputs, "load": (fn, inputs)}


def _all_columns(page: Page) -> list[str]:
    columns: list[str] = []
    for row in page.rows:
        columns += [c for c in row if c not in columns]
    return columns or list(table.DEFAULT_COLUMNS)


def _results(page: Page, query: str, view: str, group: str, columns: list[str]):
    try:
        rows = data.filter_rows(page.rows, query or "")
    except PeftctlError as error:
        return table.render([], []), f"**filter error:** {error}", None
    if view == "mean over seeds":
        rows = _mean_rows(page, rows)
        columns = list(rows[0]) if rows else []
    status = (
        f"{len(rows)} of {len(page.rows)} rows · loaded {page.loaded_at} from disk "
        f"(reloads by itself when runs change)"
    )
    html = table.render(rows, columns or list(table.DEFAULT_COLUMNS), group or "none")
    return html, status, _csv_file(page, rows)


def _mean_rows(page: Page, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± std over seeds per (source, label, dataset), of the rows shown."""
    from peftctl.bench.aggregate import summarise

    shown = {r["id"] for r in rows}
    records = [r for r in page.records if r["id"] in shown]
    out = []
    for source in dict.fromkeys(r["source"] for r in records):
        for row in summarise([r for r in records if r["source"] == source]):
            out.append(
                {
                    "source": source,
                    "label": row.label,
                    "dataset": row.dataset,
                    "metric": row.primary_metric,
                    "seeds": row.n,
                    "mean": row.mean,
                    "std": row.std,
                    "ci95": row.ci,
                    "lrs": ", ".join(f"{lr:g}" for lr in row.lrs),
                    "trainable_params": row.trainable_params,
                    "pscp": row.pscp,
                }
            )
    return out


def _csv_file(page: Page, rows: list[dict[str, Any]]) -> str | None:
    """The rows shown, every column, in the page's one temp folder (overwritten)."""
    import pandas as pd

    if not rows:
        return None
    path = page.downloads / "peftctl-results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


# -- Compare ---------------------------------------------------------------------------------


def _compare_tab(gr, page: Page) -> dict[str, Any]:
    choices = data.axis_choices(page.rows) or [DEFAULT_X, DEFAULT_Y]
    with gr.Row():
        x = gr.Dropdown(choices, value=_pick(choices, DEFAULT_X), label="x", elem_id="x-axis")
        y = gr.Dropdown(choices, value=_pick(choices, DEFAULT_Y), label="y", elem_id="y-axis")
        log_x = gr.Checkbox(value=True, label="log x axis", elem_id="log-x")
        query = gr.Textbox(label="Filter (as on Results)", elem_id="compare-filter", scale=2)
    gr.Markdown(
        "Each point is a method's mean over seeds with its 95 % interval (bars), faint dots "
        "are the seeds; diamonds and the dashed line are each bench's Pareto front (plain runs: "
        "per folder, dataset and steps). Hover for the values; click a point to open its run."
    )
    plot = gr.Plot(elem_id="pareto-plot", show_label=False)
    front = gr.Markdown(elem_id="pareto-front")
    gr.Markdown("## Verdicts (paired, on the same test items)")
    p_best = gr.BarPlot(
        x="method",
        y="P(best)",
        color="bench",
        y_lim=[0, 1],
        sort="-y",
        title="Probability of the best average (bootstrap over seeds and items)",
        height=320,
        elem_id="p-best",
    )
    against = gr.Markdown(elem_id="verdicts")
    inputs = [query, x, y, log_x]
    fn = lambda q, a, b, lg: _compare(gr, page, q, a, b, lg)  # noqa: E731
    outputs = [plot, front]
    for event in (x.change, y.change, log_x.change, query.submit):
        event(fn, inputs, outputs)
    query.change(fn, inputs, outputs, trigger_mode="always_last", show_progress="hidden")
    return {
        "inputs": inputs,
        "outputs": outputs,
        "verdicts": [p_best, against],
        "load": (fn, inputs),
        "verdicts_load": (lambda: _verdicts(gr, page), []),
    }


def _verdicts(gr, page: Page):
    """The P(best) bar chart and the "against the best" tables of the served benches."""
    import pandas as pd

    frame = pd.DataFrame(
        verdicts.p_best_rows(page.verdicts), columns=["bench", "method", "P(best)"]
    )
    return gr.BarPlot(value=frame), verdicts.verdict_markdown(page.verdicts)


def _compare(gr, page: Page, query: str, x: str, y: str, log_x: bool):
    try:
        rows = data.filter_rows(page.rows, query or "")
    except PeftctlError as error:
        return gr.skip(), f"**filter error:** {error}"
    if not x or not y:
        return None, "Pick both axes."
    points = data.method_points(rows, x, y)
    if log_x:
        dropped = [p for p in points if p["x"] <= 0]
        points = [p for p in points if p["x"] > 0]
    by_id = {r["id"]: r for r in page.records}
    for p in points:
        p["vs best"] = (
            verdicts.mark(page.verdicts, by_id[p["ids"][0]]) if p["ids"][0] in by_id else ""
        )
    palette = charts.colours([r.get("label") or "" for r in page.rows])
    chart = charts.compare_chart(
        points,
        x,
        y,
        palette,
        log_x=log_x,
        x_title=f"{x} ({_direction(x, 'x')}){', log scale' if log_x else ''}",
        y_title=f"{y} ({_direction(y, 'y')})",
    )
    on_front = [p for p in points if p["front"]]
    listed = ", ".join(
        f"{p['label']} on {p['dataset']} in `{p['source']}` ({p['x']:,.6g}, {p['y']:.4g})"
        for p in on_front
    )
    text = (
        f"**Pareto front of {y} vs {x}** within each bench ({len(on_front)} of {len(points)} "
        f"points): {listed or 'no points'}"
    )
    if log_x and dropped:
        text += f" · {len(dropped)} point(s) with {x} ≤ 0 left out of the log axis"
    return chart, text


def _direction(column: str, axis: str) -> str:
    better = data.higher_is_better(column)
    if axis == "x":
        return "→ better" if better else "← better"
    return "↑ better" if better else "↓ better"


# -- Run -------------------------------------------------------------------------------------


def _run_tab(gr, page: Page):
    ids = page.run_ids()
    with gr.Row():
        choice = gr.Dropdown(
            ids,
            value=ids[:1],
            multiselect=True,
            label="Runs (pick several to overlay their loss curves; details: the first)",
            elem_id="run-id",
            scale=4,
        )
        smoothing = gr.Slider(0, 0.99, value=0.0, step=0.01, label="smoothing", scale=1)
    loss = gr.Plot(elem_id="loss-plot", show_label=False)
    detail = gr.Markdown(elem_id="run-detail")
    with gr.Row():
        metrics = gr.JSON(label="metrics", elem_id="run-metrics")
        with gr.Column():
            recipe = gr.Code(
                language="yaml", label="recipe.yaml (resolved)", elem_id="run-recipe", max_lines=24
            )
            card = gr.Code(
                language="json", label="run.json (run card)", elem_id="run-card", max_lines=24
            )
    show = gr.Radio(["all", "wrong", "invalid"], value="wrong", label="Predictions")
    preds = gr.Dataframe(interactive=False, wrap=True, max_height=420, elem_id="predictions")
    use = gr.Markdown(elem_id="run-use")
    outputs = [loss, detail, metrics, recipe, card, preds, use]
    fn = lambda runs, smooth, which: _run_view(page, runs or [], smooth, which)  # noqa: E731
    for control in (choice, smoothing, show):
        control.change(fn, [choice, smoothing, show], outputs)
    return {
        "choice": choice,
        "detail": detail,
        "outputs": outputs,
        "load": (fn, [choice, smoothing, show]),
    }


def _run_view(page: Page, run_ids: list[str], smoothing: float, show: str):
    import pandas as pd

    empty = (None, "Pick a run.", {}, "", "", pd.DataFrame(), "")
    runs = {}
    for run_id in run_ids:
        try:
            runs[run_id] = data.resolve_run(page.records, run_id, page.roots)
        except PeftctlError as error:
            return (None, f"**{error}**", *empty[2:])
    if not runs:
        return empty
    palette = charts.colours(page.run_ids())
    curves = {run_id: data.loss_points(path) for run_id, path in runs.items()}
    plot = charts.loss_chart(curves, palette, smoothing) if any(curves.values()) else None
    first, path = next(iter(runs.items()))
    record = next(r for r in page.records if r["id"] == first)
    metrics = {
        "status": record.get("status"),
        "error": record.get("error"),
        "eval": (record.get("eval") or {}).get("metrics"),
        "test": (record.get("test") or {}).get("metrics"),
        "trainable_params": record.get("trainable_params"),
        "forgetting": (record.get("forgetting") or {}).get("increase"),
    }
    rows = data.predictions(path, show)
    note = f"Details of **{first}**" + ("" if any(curves.values()) else " · no loss logged yet")
    return (
        plot,
        note,
        {k: v for k, v in metrics.items() if v is not None},
        data.read_text(path, RECIPE),
        data.read_text(path, RUN_CARD),
        pd.DataFrame(rows) if rows else pd.DataFrame({"predictions": [f"none ({show})"]}),
        _use_hint(path),
    )


def _use_hint(run: Path) -> str:
    """How to use a finished run: chat with it, or serve it over the OpenAI API."""
    if not (run / ADAPTER).is_dir():
        return ""
    return (
        f"**Use this run:** `peftctl chat {run}` in a terminal, or serve it to programs over "
        f"the OpenAI API: `peftctl serve {run}` (docs/serve.md)"
    )


# -- Launch ----------------------------------------------------------------------------------


def _launch_tab(gr, page: Page, launcher) -> dict[str, Any]:
    from peftctl.ui import launch_form

    return launch_form.build(gr, page, launcher)


# -- helpers ---------------------------------------------------------------------------------


def _pick(choices: list[str], wanted: str) -> str | None:
    return wanted if wanted in choices else (choices[0] if choices else None)


def theme(gr):
    """gradio's default look with this machine's fonts (no request to a font service)."""
    return gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(MONO_FONTS))


def launch_options(gr) -> dict[str, Any]:
    """What ``launch()`` needs besides address and port: theme, CSS, the sorting script."""
    return {
        "theme": theme(gr),
        "css": CSS,
        "head": f"<script>{table.SORT_JS}</script>",
        "footer_links": ["settings"],
    }
