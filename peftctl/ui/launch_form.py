"""The Launch tab: typed controls for a training run (each method's tuned recipe as the
defaults), a preview of the resolved recipe and command, a bench with its plan estimate, and
the jobs (progress, live loss curve, stop, failure reasons). Logic is in
:mod:`peftctl.ui.launch`; this module only lays out gradio controls."""

from __future__ import annotations

from typing import Any

import yaml

from peftctl.errors import PeftctlError
from peftctl.ui import charts, data, table
from peftctl.ui.launch import FORM_KEYS, FormField, Launcher, form_defaults, method_fields

FIXED_KEYS = ("name", "model", "method", "dataset", *FORM_KEYS)
JOB_COLUMNS = ("job", "kind", "state", "progress", "seconds", "detail")
MODEL_HELP = (
    "A model directory, a .gguf file, a hub id (from the Hugging Face cache when offline) or "
    "smollm2-135m-instruct"
)


def build(gr, page, launcher: Launcher) -> dict[str, Any]:
    """Lay out the tab; returns the jobs timer's function, inputs and outputs."""
    from peftctl.bench.spec import shipped_specs
    from peftctl.config.sections import EVAL_MODES
    from peftctl.facts.names import DEFAULT_MODEL
    from peftctl.plugin_manager import get_plugins

    plugins = get_plugins()
    methods, datasets = plugins.methods.names(), plugins.datasets.names()
    first = "lora" if "lora" in methods else (methods[0] if methods else None)
    start = form_defaults(first) if first else {}
    gr.Markdown(
        f"New runs and benches go to `{launcher.root}`, which this page lists. Everything is "
        "checked as `peftctl validate` checks a recipe (model and dataset included) before "
        "anything starts."
    )
    with gr.Row():
        name = gr.Textbox(
            interactive=True, label="run name (folder)", value="ui-run", elem_id="launch-name"
        )
        model = gr.Textbox(
            interactive=True,
            label="model",
            value=DEFAULT_MODEL,
            info=MODEL_HELP,
            elem_id="launch-model",
        )
        method = gr.Dropdown(
            methods, interactive=True, value=first, label="method", elem_id="launch-method"
        )
        dataset = gr.Dropdown(
            datasets,
            interactive=True,
            value="sst2" if "sst2" in datasets else None,
            label="dataset",
            elem_id="launch-dataset",
        )
    with gr.Row():
        lr = _count(gr, start, "lr", "train.lr", "launch-lr", minimum=0, precision=None)
        steps = _count(gr, start, "max_steps", "train.max_steps", "launch-steps")
        batch = _count(gr, start, "batch_size", "train.batch_size")
        n_train = _count(gr, start, "max_train_samples", "dataset.max_train_samples")
        n_eval = _count(
            gr, start, "max_eval_samples", "dataset.max_eval_samples", "launch-eval-samples"
        )
        mode = gr.Radio(
            list(EVAL_MODES), interactive=True, value=start.get("eval_mode"), label="eval.mode"
        )
    fixed = [name, model, method, dataset, lr, steps, batch, n_train, n_eval, mode]
    trained = [lr, steps, batch, n_train, n_eval, mode]
    method.change(
        lambda m: [form_defaults(m).get(k) for k in FORM_KEYS] if m else [gr.skip()] * 6,
        method,
        trained,
    )
    check = gr.Button("Check and preview", elem_id="launch-check", render=False)
    go = gr.Button("Launch training", variant="primary", elem_id="launch-train", render=False)
    message = gr.Markdown(elem_id="launch-message", render=False)
    preview = gr.Code(
        language="yaml", label="resolved recipe", elem_id="launch-preview", render=False
    )

    @gr.render(inputs=method)
    def method_options(chosen: str | None):
        fields = method_fields(chosen) if chosen else []
        boxes = []
        with gr.Accordion(f"{chosen} options (its tuned recipe's values)", open=False):
            for row in range(0, len(fields), 3):
                with gr.Row():
                    boxes += [_control(gr, spec) for spec in fields[row : row + 3]]
        names = [f.name for f in fields]

        def split(values):
            form = dict(zip(FIXED_KEYS, values[: len(FIXED_KEYS)], strict=True))
            return form, dict(zip(names, values[len(FIXED_KEYS) :], strict=True))

        def checked(*values):
            from peftctl.ui.launch import check_form

            form, options = split(values)
            try:
                recipe, _ = check_form(form, options, launcher.root)
            except PeftctlError as error:
                return f"**error:** {error}", ""
            command = f"peftctl train {launcher.root / '.launch' / form['name']}.yaml"
            return f"ok: `{command}`", yaml.safe_dump(recipe, sort_keys=False)

        def started(*values):
            form, options = split(values)
            try:
                job = launcher.train(form, options)
            except PeftctlError as error:
                return f"**error:** {error}", gr.skip()
            recipe = job.log.with_suffix(".yaml").read_text(encoding="utf-8")
            return f"started **{job.name}** → `{job.run_dir}`", recipe

        check.click(checked, [*fixed, *boxes], [message, preview])
        go.click(started, [*fixed, *boxes], [message, preview])

    with gr.Row():
        check.render()
        go.render()
    message.render()
    preview.render()

    gr.Markdown("### A bench")
    specs = list(shipped_specs())
    with gr.Row():
        spec = gr.Dropdown(
            specs, interactive=True, value="quick" if "quick" in specs else None, label="bench spec"
        )
        overrides = gr.Textbox(
            interactive=True, label="overrides", placeholder="seeds=[0] budget.max_steps=3"
        )
        plan = gr.Button("Plan", elem_id="bench-plan")
        bench_go = gr.Button("Launch bench", elem_id="launch-bench")
    plan.click(lambda s, o: _plan(launcher, s, o), [spec, overrides], message)
    bench_go.click(lambda s, o: _start_bench(launcher, s, o), [spec, overrides], message)
    return _jobs(gr, page, launcher)


def _count(gr, start: dict[str, Any], key: str, label: str, elem_id: str | None = None, *,
           minimum: float = 1, precision: int | None = 0):  # fmt: skip
    """A number field of the training values, its start value from the method's recipe."""
    return gr.Number(
        start.get(key), interactive=True, label=label, minimum=minimum, precision=precision,
        elem_id=elem_id,
    )  # fmt: skip


def _control(gr, spec: FormField):
    """The control for one method option: checkbox, number with its range, dropdown, text."""
    common = {"label": spec.name, "info": spec.help or None, "interactive": True}
    if spec.kind == "bool":
        return gr.Checkbox(value=bool(spec.default), **common)
    if spec.kind in ("int", "float"):
        return gr.Number(
            spec.default,
            minimum=spec.minimum,
            maximum=spec.maximum,
            precision=0 if spec.kind == "int" else None,
            **common,
        )
    if spec.kind == "choice":
        value = spec.default if spec.default in spec.choices else None
        return gr.Dropdown(list(spec.choices), value=value, **common)
    return gr.Textbox(value=spec.default, **common)


def _plan(launcher: Launcher, spec: str, overrides: str) -> str:
    try:
        cells, line = launcher.plan(spec, (overrides or "").split())
    except PeftctlError as error:
        return f"**error:** {error}"
    return f"bench **{spec}**: {cells} cells → `{launcher.bench_dir(spec)}`; {line}"


def _start_bench(launcher: Launcher, spec: str, overrides: str) -> str:
    try:
        job = launcher.bench(spec, (overrides or "").split())
    except PeftctlError as error:
        return f"**error:** {error}"
    return f"started **{job.name}** → `{job.run_dir}`"


def _jobs(gr, page, launcher: Launcher) -> dict[str, Any]:
    gr.Markdown("### Jobs")
    jobs = gr.HTML(_jobs_html(launcher), elem_id="launch-jobs")
    with gr.Row():
        which = gr.Dropdown(
            [], interactive=True, label="job to stop (default: the newest running)",
            elem_id="stop-which", scale=3,
        )  # fmt: skip
        stop = gr.Button("Stop", variant="stop", elem_id="stop-job", scale=1)
    live = gr.Plot(elem_id="job-loss", show_label=False)
    shown: dict[str, Any] = {}

    def stopped(name: str | None) -> str:
        running = launcher.running()
        for job in launcher.jobs:  # the job picked, else the newest running one
            if job.name == (name or (running[-1] if running else None)):
                job.stop()
        return _jobs_html(launcher)

    stop.click(stopped, which, jobs)

    def refresh():
        running = launcher.running()
        html = _jobs_html(launcher)
        pick = gr.Dropdown(choices=running, value=running[0] if running else None)
        trains = [j for j in launcher.jobs if j.kind == "train"]
        plot = gr.skip()
        if trains:
            job = trains[-1]
            key = (job.name, job.progress(), job.state)
            if shown.get("key") != key:
                shown["key"] = key
                points = data.loss_points(job.run_dir)
                palette = charts.colours([job.name])
                if points:
                    plot = charts.loss_chart({job.name: points}, palette)
                elif job.state == "running":
                    plot = None  # nothing logged yet
                # an ended job whose folder went keeps its last curve
        if shown.get("html") == html and shown.get("running") == running:
            return gr.skip(), gr.skip(), plot
        shown.update(html=html, running=running)
        return html, pick, plot

    return {"fn": refresh, "inputs": None, "outputs": [jobs, which, live]}


def _jobs_html(launcher: Launcher) -> str:
    rows = launcher.rows()
    if not rows:
        return '<p class="peftctl-empty">No jobs yet.</p>'
    return table.render(rows, JOB_COLUMNS, table_id="jobs")
