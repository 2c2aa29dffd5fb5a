"""The Gradio page of ``peftctl ui``: Results, Compare, Run and Launch tabs over the served
folders. Data comes from :mod:`peftctl.ui.data` (read fresh; a timer reloads the tables when
files change on disk), launching from :mod:`peftctl.ui.launch`."""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any

from peftctl.errors import PeftctlError
from peftctl.run_files import ADAPTER, METRICS, RECIPE, RUN_CARD
from peftctl.ui import data, verdicts

DEFAULT_X = "trainable_params"
DEFAULT_Y = "test_primary"
REFRESH_SECONDS = 2.0


class Page:
    """The served folders and what the page last loaded from them."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = roots
        self.records: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []
        self.verdicts: list[verdicts.BenchVerdict] = []
        self.loaded_at = ""
        self.reload()

    def reload(self) -> None:
        self.records = data.load_records(self.roots)
        self.rows = data.table_rows(self.records)
        self.verdicts = verdicts.bench_verdicts(self.records)
        self.loaded_at = time.strftime("%H:%M:%S")

    def fingerprint(self) -> tuple:
        """Changes whenever a run or cell starts, finishes or fails."""
        stamps = []
        for root in self.roots:
            for pattern in (f"**/{RUN_CARD}", f"**/{METRICS}", "**/state/*.json", "**/bench.json"):
                for path in root.glob(pattern):
                    if "/.launch/" not in str(path):
                        stamps.append((str(path), path.stat().st_mtime_ns))
        return tuple(sorted(stamps))

    def run_ids(self) -> list[str]:
        return [r["id"] for r in self.records]


def build_app(roots: list[Path], *, read_only: bool = False):
    """The ``gr.Blocks`` page over ``roots`` (launch tab left out when ``read_only``)."""
    import gradio as gr

    page = Page(roots)
    with gr.Blocks(title="peftctl", analytics_enabled=False) as app:
        gr.Markdown(f"# peftctl\nServing {', '.join(str(r) for r in roots)}")
        fingerprint = gr.State(page.fingerprint())
        with gr.Tabs():
            with gr.Tab("Results", id="results"):
                results = _results_tab(gr, page)
            with gr.Tab("Compare", id="compare"):
                compare = _compare_tab(gr, page)
            with gr.Tab("Run", id="run"):
                run = _run_tab(gr, page)
            if not read_only:
                with gr.Tab("Launch", id="launch"):
                    launcher, jobs_md = _launch_tab(gr, page)
        for tab in (results, compare, run):  # each tab fills itself when the page opens
            fn, inputs = tab["load"]
            app.load(fn, inputs, tab["outputs"])
        app.load(*compare["verdicts_load"], compare["verdicts"])
        run_choice = run["choice"]
        timer = gr.Timer(REFRESH_SECONDS)

        def tick(previous: tuple, query: str, view: str, *compare_and_run: Any):
            current = page.fingerprint()
            if current == previous:
                return [gr.skip()] * 9
            page.reload()
            table, status, csv = _results(page, query, view)
            *axes, run = compare_and_run
            plot, front = _pareto(gr, page, *axes)
            p_best, against = _verdicts(gr, page)
            ids = page.run_ids()
            choice = gr.Dropdown(choices=ids, value=run)
            return current, table, status, csv, plot, front, p_best, against, choice

        timer.tick(
            tick,
            [fingerprint, results["query"], results["view"], *compare["inputs"], run_choice],
            [
                fingerprint,
                *results["outputs"],
                *compare["outputs"],
                *compare["verdicts"],
                run_choice,
            ],
        )
        if not read_only:
            timer.tick(lambda: "\n\n".join(launcher.status_lines()) or "no jobs yet", None, jobs_md)
    return app


# -- Results ---------------------------------------------------------------------------------


def _results_tab(gr, page: Page) -> dict[str, Any]:
    with gr.Row():
        query = gr.Textbox(
            label="Filter",
            placeholder="dataset=sst2 test_primary>0.8 lora   (key=value, !=, >, <, >=, <=, ~)",
            elem_id="filter",
            scale=4,
        )
        view = gr.Radio(["cells", "mean over seeds"], value="cells", label="View", scale=2)
    status = gr.Markdown(elem_id="results-status")
    table = gr.Dataframe(interactive=False, elem_id="results-table", max_height=520, wrap=False)
    csv = gr.DownloadButton("Download CSV", elem_id="download-csv")
    outputs = [table, status, csv]
    fn = lambda q, v: _results(page, q, v)  # noqa: E731
    for event in (query.submit, view.change):
        event(fn, [query, view], outputs)
    return {"query": query, "view": view, "outputs": outputs, "load": (fn, [query, view])}


def _results(page: Page, query: str, view: str):
    import pandas as pd

    try:
        rows = data.filter_rows(page.rows, query or "")
    except PeftctlError as error:
        return pd.DataFrame(), f"**filter error:** {error}", None
    if view == "mean over seeds":
        rows = _mean_rows(page, rows)
    frame = pd.DataFrame(rows)
    status = (
        f"{len(rows)} of {len(page.rows)} rows · loaded {page.loaded_at} from disk "
        f"(reloads by itself when runs change)"
    )
    return frame, status, _csv_file(frame)


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
                    "mean": _round(row.mean),
                    "std": _round(row.std),
                    "ci95": _round(row.ci),
                    "lrs": ", ".join(f"{lr:g}" for lr in row.lrs),
                    "trainable_params": row.trainable_params,
                    "pscp": _round(row.pscp),
                }
            )
    return out


def _csv_file(frame) -> str | None:
    if frame.empty:
        return None
    folder = Path(tempfile.mkdtemp(prefix="peftctl-ui-"))
    path = folder / "peftctl-results.csv"
    frame.to_csv(path, index=False)
    return str(path)


# -- Compare ---------------------------------------------------------------------------------


def _compare_tab(gr, page: Page) -> dict[str, Any]:
    choices = data.axis_choices(page.rows) or [DEFAULT_X, DEFAULT_Y]
    with gr.Row():
        x = gr.Dropdown(choices, value=_pick(choices, DEFAULT_X), label="x", elem_id="x-axis")
        y = gr.Dropdown(choices, value=_pick(choices, DEFAULT_Y), label="y", elem_id="y-axis")
        log_x = gr.Checkbox(value=True, label="log10 x", elem_id="log-x")
        query = gr.Textbox(label="Filter (as on Results)", elem_id="compare-filter")
    plot = gr.ScatterPlot(
        x="x",
        y="y",
        color="pareto",
        color_map=FRONT_COLOURS,
        tooltip="all",
        height=420,
        elem_id="pareto-plot",
    )
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
    fn = lambda q, a, b, lg: _pareto(gr, page, q, a, b, lg)  # noqa: E731
    outputs = [plot, front]
    for event in (x.change, y.change, log_x.change, query.submit):
        event(fn, inputs, outputs)
    verdict_outputs = [p_best, against]
    return {
        "inputs": inputs,
        "outputs": outputs,
        "verdicts": verdict_outputs,
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


def _pareto(gr, page: Page, query: str, x: str, y: str, log_x: bool):
    import pandas as pd

    try:
        rows = data.filter_rows(page.rows, query or "")
    except PeftctlError as error:
        return gr.skip(), f"**filter error:** {error}"
    points = data.pareto_points(rows, x, y)
    by_id = {r["id"]: r for r in page.records}
    for p in points:
        p["vs best"] = verdicts.mark(page.verdicts, by_id[p["id"]]) if p["id"] in by_id else ""
    x_title = f"{'log10 ' if log_x else ''}{x} ({_direction(x, 'x')})"
    y_title = f"{y} ({_direction(y, 'y')})"
    frame = pd.DataFrame(
        [
            {
                "x": math.log10(p[x]) if log_x and p[x] > 0 else p[x],
                "y": p[y],
                "pareto": p["pareto"],
                "run": p["id"],
                "method": p["label"],
                "dataset": p["dataset"],
                "vs best": p["vs best"],
            }
            for p in points
            if not (log_x and p[x] <= 0)
        ]
    )
    on_front = [p for p in points if p["pareto"] == "Pareto front"]
    front = (
        f"**Pareto front of {y} vs {x}**, per dataset ({len(on_front)} of {len(points)} runs): "
        + (", ".join(f"`{p['id']}` ({p[x]:g}, {p[y]:.4g})" for p in on_front) or "no runs")
    )
    plot = gr.ScatterPlot(
        value=frame,
        x="x",
        y="y",
        color="pareto",
        color_map=FRONT_COLOURS,
        x_title=x_title,
        y_title=y_title,
        x_lim=_limits(frame, "x"),
        y_lim=_limits(frame, "y"),
    )
    return plot, front


FRONT_COLOURS = {"Pareto front": "#d62728", "dominated": "#9e9e9e"}


def _limits(frame, column: str) -> list[float] | None:
    """The data's range plus a margin (the plot would otherwise start at zero)."""
    if frame.empty:
        return None
    low, high = float(frame[column].min()), float(frame[column].max())
    margin = (high - low) * 0.08 or abs(high) * 0.05 or 1.0
    return [low - margin, high + margin]


def _direction(column: str, axis: str) -> str:
    better = data.higher_is_better(column)
    if axis == "x":
        return "→ better" if better else "← better"
    return "↑ better" if better else "↓ better"


# -- Run -------------------------------------------------------------------------------------


def _run_tab(gr, page: Page):
    ids = page.run_ids()
    choice = gr.Dropdown(ids, value=ids[0] if ids else None, label="Run", elem_id="run-id")
    with gr.Row():
        loss = gr.LinePlot(x="step", y="loss", color="series", height=300, elem_id="loss-plot")
        metrics = gr.JSON(label="metrics", elem_id="run-metrics")
    with gr.Row():
        recipe = gr.Code(
            language="yaml", label="recipe.yaml (resolved)", elem_id="run-recipe", max_lines=24
        )
        card = gr.Code(
            language="json", label="run.json (run card)", elem_id="run-card", max_lines=24
        )
    show = gr.Radio(["all", "wrong", "invalid"], value="wrong", label="Predictions")
    preds = gr.Dataframe(interactive=False, wrap=True, max_height=420, elem_id="predictions")
    use = gr.Markdown(elem_id="run-use")
    outputs = [loss, metrics, recipe, card, preds, use]
    fn = lambda run, which: (*_run_detail(page, run, which), _use_hint(page, run))  # noqa: E731
    choice.change(fn, [choice, show], outputs)
    show.change(fn, [choice, show], outputs)
    return {"choice": choice, "outputs": outputs, "load": (fn, [choice, show])}


def _run_detail(page: Page, run_id: str | None, show: str):
    import pandas as pd

    if not run_id:
        return pd.DataFrame(), {}, "", "", pd.DataFrame()
    try:
        run = data.resolve_run(page.records, run_id, page.roots)
    except PeftctlError as error:
        return pd.DataFrame(), {"error": str(error)}, "", "", pd.DataFrame()
    record = next(r for r in page.records if r["id"] == run_id)
    metrics = {
        "status": record.get("status"),
        "error": record.get("error"),
        "eval": (record.get("eval") or {}).get("metrics"),
        "test": (record.get("test") or {}).get("metrics"),
        "trainable_params": record.get("trainable_params"),
        "forgetting": (record.get("forgetting") or {}).get("increase"),
    }
    return (
        pd.DataFrame(data.loss_points(run)),
        {k: v for k, v in metrics.items() if v is not None},
        data.read_text(run, RECIPE),
        data.read_text(run, RUN_CARD),
        pd.DataFrame(data.predictions(run, show)),
    )


def _use_hint(page: Page, run_id: str | None) -> str:
    """How to use a finished run: chat with it, or serve it over the OpenAI API."""
    try:
        run = data.resolve_run(page.records, run_id, page.roots) if run_id else None
    except PeftctlError:
        return ""
    if run is None or not (run / ADAPTER).is_dir():
        return ""
    return (
        f"**Use this run:** `peftctl chat {run}` in a terminal, or serve it to programs over "
        f"the OpenAI API: `peftctl serve {run}` (docs/serve.md)"
    )


# -- Launch ----------------------------------------------------------------------------------


def _launch_tab(gr, page: Page):
    from peftctl.bench.spec import shipped_specs
    from peftctl.facts.names import DEFAULT_MODEL
    from peftctl.plugin_manager import get_plugins
    from peftctl.ui.launch import Launcher, method_fields

    launcher = Launcher(page.roots[0])
    plugins = get_plugins()
    methods = plugins.methods.names()
    datasets = plugins.datasets.names()
    gr.Markdown(
        f"New runs go to `{page.roots[0]}`. The form is checked as `peftctl validate` would."
    )
    with gr.Row():
        name = gr.Textbox(
            interactive=True, label="run name (folder)", value="ui-run", elem_id="launch-name"
        )
        model = gr.Textbox(
            interactive=True, label="model", value=DEFAULT_MODEL, elem_id="launch-model"
        )
        method = gr.Dropdown(
            methods,
            interactive=True,
            value=_pick(methods, "lora"),
            label="method",
            elem_id="launch-method",
        )
        dataset = gr.Dropdown(
            datasets,
            interactive=True,
            value=_pick(datasets, "sst2"),
            label="dataset",
            elem_id="launch-dataset",
        )
    with gr.Row():
        lr = gr.Textbox(interactive=True, label="train.lr", value="5e-4", elem_id="launch-lr")
        steps = gr.Number(
            interactive=True, label="train.max_steps", value=30, precision=0, elem_id="launch-steps"
        )
        batch = gr.Number(interactive=True, label="train.batch_size", value=8, precision=0)
        n_train = gr.Number(
            interactive=True, label="dataset.max_train_samples", value=240, precision=0
        )
        n_eval = gr.Number(
            interactive=True,
            label="dataset.max_eval_samples",
            value=100,
            precision=0,
            elem_id="launch-eval-samples",
        )
        mode = gr.Radio(["rank", "generate"], interactive=True, value="rank", label="eval.mode")
    fixed = [name, model, method, dataset, lr, steps, batch, n_train, n_eval, mode]
    keys = [
        "name",
        "model",
        "method",
        "dataset",
        "lr",
        "max_steps",
        "batch_size",
        "max_train_samples",
        "max_eval_samples",
        "eval_mode",
    ]
    launch = gr.Button("Launch training", variant="primary", elem_id="launch-train", render=False)
    message = gr.Markdown(elem_id="launch-message", render=False)

    @gr.render(inputs=method)
    def method_options(chosen: str):
        fields = method_fields(chosen) if chosen else []
        boxes = []
        with gr.Accordion(f"{chosen} options", open=False):
            for row in range(0, len(fields), 4):
                with gr.Row():
                    for spec in fields[row : row + 4]:
                        boxes.append(
                            gr.Textbox(
                                interactive=True,
                                label=spec.name,
                                value=spec.default,
                                info=spec.help[:120] or None,
                            )
                        )
        names = [f.name for f in fields]

        def start(*values):
            form = dict(zip(keys, values[: len(keys)], strict=True))
            options = dict(zip(names, values[len(keys) :], strict=True))
            try:
                job = launcher.train(form, options)
            except PeftctlError as error:
                return f"**error:** {error}"
            return f"started **{job.name}**: `peftctl train {launcher.root / '.launch'}/...`"

        launch.click(start, [*fixed, *boxes], message)

    launch.render()
    message.render()
    gr.Markdown("### A bench")
    with gr.Row():
        specs = list(shipped_specs())
        spec = gr.Dropdown(specs, interactive=True, value=_pick(specs, "quick"), label="bench spec")
        overrides = gr.Textbox(
            interactive=True, label="overrides", placeholder="seeds=[0] budget.max_steps=3"
        )
        bench_button = gr.Button("Launch bench", elem_id="launch-bench")

    def start_bench(spec_name: str, text: str) -> str:
        try:
            job = launcher.bench(spec_name, (text or "").split())
        except PeftctlError as error:
            return f"**error:** {error}"
        return f"started **{job.name}** into `{job.run_dir}`"

    bench_button.click(start_bench, [spec, overrides], message)
    gr.Markdown("### Jobs")
    jobs = gr.Markdown("no jobs yet", elem_id="launch-jobs")
    return launcher, jobs


# -- helpers ---------------------------------------------------------------------------------


def _pick(choices: list[str], wanted: str) -> str | None:
    return wanted if wanted in choices else (choices[0] if choices else None)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
