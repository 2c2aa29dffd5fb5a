"""The page's launch form and jobs: the typed recipe schema as form fields (each method's
tuned recipe as the defaults), checked exactly as ``peftctl validate`` checks a recipe (model
and dataset included); ``peftctl train`` and ``peftctl bench run`` started as subprocesses in
the jobs folder, which the page always lists; stop, progress, durations, failure reasons.
No gradio here."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from peftctl.errors import PeftctlError
from peftctl.run_files import RECIPE

LAUNCH_DIR = ".launch"  # recipes and logs of launched jobs, inside the jobs folder
JOBS_FOLDER = Path("runs")  # where jobs go when no served folder can take them
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
_STOP_WAIT_SECONDS = 15.0

#: The recipe keys the form sets besides the method's options (form key -> recipe key).
FORM_KEYS = {
    "lr": "train.lr",
    "max_steps": "train.max_steps",
    "batch_size": "train.batch_size",
    "max_train_samples": "dataset.max_train_samples",
    "max_eval_samples": "dataset.max_eval_samples",
    "eval_mode": "eval.mode",
}


@dataclass(frozen=True)
class FormField:
    """One method option as a form control: kind is bool, int, float, choice or text."""

    name: str
    default: Any
    help: str
    kind: str = "text"
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


def method_fields(method: str) -> list[FormField]:
    """The options of ``method`` (its typed config) as form fields, defaults from its tuned
    ``<method>_sst2`` recipe where it ships one."""
    from peftctl.config.recipe import method_config_class
    from peftctl.typed import field_default

    cls = method_config_class(method)
    hints = typing.get_type_hints(cls)
    tuned = (tuned_defaults(method).get("method") or {}) if method else {}
    fields = []
    for spec in dataclasses.fields(cls):
        if spec.name == "name" or not spec.init:
            continue
        default = tuned.get(spec.name, field_default(spec))
        default = None if default is dataclasses.MISSING else default
        kind, choices = _kind(hints.get(spec.name), spec)
        fields.append(
            FormField(
                spec.name,
                default if kind in ("bool", "int", "float") else _text(default),
                spec.metadata.get("help", ""),
                kind,
                choices,
                spec.metadata.get("min"),
                spec.metadata.get("max"),
            )
        )
    return fields


def tuned_defaults(method: str) -> dict[str, Any]:
    """The method's shipped ``<method>_sst2`` recipe as a mapping ({} when it has none)."""
    from peftctl.recipes.finder import recipe_index
    from peftctl.yaml_files import read_yaml

    path = recipe_index().get(f"{method}_sst2")
    if path is None:
        return {}
    data = read_yaml(path)
    if (data.get("method") or {}).get("name") != method:
        return {}
    return data


def form_defaults(method: str) -> dict[str, Any]:
    """The form's training values for ``method``: its tuned recipe's, else peftctl's."""
    tuned = tuned_defaults(method)
    values = {"lr": 5e-4, "max_steps": 30, "batch_size": 8, "max_train_samples": 240}
    values |= {"max_eval_samples": 100, "eval_mode": "rank"}
    for key, dotted in FORM_KEYS.items():
        section, name = dotted.split(".")
        value = (tuned.get(section) or {}).get(name)
        if value is not None and not isinstance(value, list):
            values[key] = value
    return values


def recipe_from_form(form: dict[str, Any], method_options: dict[str, Any], root: Path):
    """(recipe mapping, validated config) from the form; errors are the CLI's one-liners."""
    from peftctl.config.recipe import build_recipe

    name = str(form.get("name") or "").strip()
    if not name or not set(name) <= _NAME_CHARS or name.startswith("."):
        raise PeftctlError("run name: use letters, digits and _-. only (it names the folder)")
    out = root / name
    if out.exists():
        raise PeftctlError(f"run name: {out} exists; choose another name")
    steps = _whole(form.get("max_steps"))
    if not isinstance(steps, int) or steps < 1:
        raise PeftctlError(
            f"train.max_steps={form.get('max_steps')}: give at least 1 step (the form trains "
            "for a number of steps; full epochs: peftctl train)"
        )
    defaults = {f.name: f.default for f in method_fields(str(form["method"]))}
    method = {k: v for k, v in method_options.items() if v != defaults.get(k)}
    tuned = tuned_defaults(str(form["method"])).get("method") or {}
    method = {**{k: v for k, v in tuned.items() if k != "name"}, **method}
    data = {
        "model": {"name": str(form["model"] or "").strip()},
        "method": {"name": form["method"], **method},
        "dataset": {"name": form["dataset"]},
        "train": {"save_every": 0},
        "eval": {"after_train": True},
        "output_dir": str(out),
    }
    for key, dotted in FORM_KEYS.items():
        section, option = dotted.split(".")
        data[section][option] = _whole(form[key]) if key != "lr" else form[key]
    return data, build_recipe(data)


def check_form(form: dict[str, Any], method_options: dict[str, Any], root: Path):
    """``recipe_from_form`` plus what ``peftctl validate`` checks beyond the recipe: the model
    and dataset can be had now."""
    from peftctl.training.preflight import check_inputs_available

    data, config = recipe_from_form(form, method_options, root)
    check_inputs_available(config)
    return data, config


def jobs_folder(roots: list[Path]) -> Path:
    """The first served folder that is neither a run nor inside a bench directory (launched
    runs would be hidden there), else ``runs/``."""
    for root in roots:
        if not _inside_bench_or_run(root.resolve()):
            return root
    return JOBS_FOLDER


def _inside_bench_or_run(folder: Path) -> bool:
    from peftctl.bench.store import BENCH_FILE

    if (folder / RECIPE).is_file():
        return True
    return any((parent / BENCH_FILE).is_file() for parent in (folder, *folder.parents))


@dataclass
class Job:
    """A launched ``peftctl train`` or ``peftctl bench run`` process."""

    name: str
    kind: str  # train | bench
    process: subprocess.Popen
    log: Path
    run_dir: Path
    total_steps: int
    started: float = field(default_factory=time.time)
    ended: float | None = None
    stopped: bool = False
    step: int = 0  # the last step seen (a stopped run without a checkpoint removes its log)

    @property
    def state(self) -> str:
        code = self.process.poll()
        if code is None:
            return "running"
        if self.ended is None:
            self.ended = time.time()
        if self.stopped:
            return "stopped"
        return "finished" if code == 0 else "failed"

    @property
    def seconds(self) -> int:
        self.state  # noqa: B018 (stamps the end)
        return int((self.ended or time.time()) - self.started)

    def stop(self) -> None:
        """Ctrl-C to the job's process group (a bench's cells too), then kill after a while."""
        if self.process.poll() is not None:
            return
        self.stopped = True
        for sig in (signal.SIGINT, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=_STOP_WAIT_SECONDS)
                return
            except subprocess.TimeoutExpired:
                continue

    def progress(self) -> tuple[int, int]:
        """(steps done, total steps) of a training job; (0, 0) for a bench."""
        if self.kind != "train":
            return 0, 0
        self.step = max(self.step, _last_step(self.run_dir / "log.jsonl"))
        return self.step, self.total_steps

    def detail(self) -> str:
        """Why it failed (its ``error:`` line), else the last line of its output."""
        lines = _lines(self.log)
        if self.state == "stopped" and self.kind == "train" and not self.run_dir.exists():
            return (
                f"stopped at step {self.progress()[0]}; without a checkpoint its folder was "
                "removed, as Ctrl-C does (train.save_every keeps one)"
            )
        if self.state == "failed":
            errors = [ln for ln in lines if ln.startswith("error:")]
            return (errors or lines or ["no output"])[-1][:240]
        return lines[-1][:240] if lines else ""


class Launcher:
    """Starts jobs in the jobs folder ``root`` and reports on them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs: list[Job] = []

    def train(self, form: dict[str, Any], method_options: dict[str, Any]) -> Job:
        data, config = check_form(form, method_options, self.root)
        recipe = self.root / LAUNCH_DIR / f"{form['name']}.yaml"
        recipe.parent.mkdir(parents=True, exist_ok=True)
        recipe.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        command = [sys.executable, "-m", "peftctl", "train", str(recipe)]
        steps = int(data["train"]["max_steps"] or 0)
        return self._start(form["name"], "train", command, Path(config.output_dir), steps)

    def bench(self, spec: str, overrides: list[str]) -> Job:
        from peftctl.bench.spec import load_spec

        load_spec(spec, overrides)  # the CLI's checks, before anything starts
        out = self.bench_dir(spec)
        command = [sys.executable, "-m", "peftctl", "bench", "run", spec, *overrides]
        command += ["--output-dir", str(out), "--quiet"]
        return self._start(f"bench-{Path(spec).stem}", "bench", command, out, 0)

    def bench_dir(self, spec: str) -> Path:
        return self.root / "bench" / Path(spec).stem

    def plan(self, spec: str, overrides: list[str]) -> tuple[int, str]:
        """(cells, ``bench plan``'s total line) from the probes already measured."""
        from peftctl.bench.plan import estimate_cells
        from peftctl.bench.session import open_bench

        _, cells, bench = open_bench(spec, overrides, str(self.bench_dir(spec)))
        _, total = estimate_cells(bench, cells)
        return len(cells), total.line()

    def find(self, name: str) -> Job:
        for job in self.jobs:
            if job.name == name:
                return job
        raise PeftctlError(f"no job '{name}' on this page")

    def running(self) -> list[str]:
        return [job.name for job in self.jobs if job.state == "running"]

    def states(self) -> dict[str, str]:
        """Run directory -> state of each launched training job (the table shows stopped and
        failed runs as such: their run card is never written)."""
        return {str(job.run_dir.resolve()): job.state for job in self.jobs if job.kind == "train"}

    def rows(self) -> list[dict[str, Any]]:
        """One row per job, newest first: state, progress, duration, detail."""
        rows = []
        for job in reversed(self.jobs):
            done, total = job.progress()
            rows.append(
                {
                    "job": job.name,
                    "kind": job.kind,
                    "state": job.state,
                    "progress": f"{done}/{total} steps" if total else "—",
                    "seconds": job.seconds,
                    "detail": job.detail(),
                    "run_dir": str(job.run_dir),
                }
            )
        return rows

    def status_lines(self) -> list[str]:
        """One line per job: state, progress, duration, detail."""
        lines = []
        for row in self.rows():
            parts = [f"**{row['job']}** ({row['kind']}): {row['state']}", row["progress"]]
            parts += [f"{row['seconds']} s", f"`{row['detail']}`" if row["detail"] else ""]
            lines.append(" · ".join(p for p in parts if p and p != "—"))
        return lines

    def stop_all(self) -> None:
        for job in self.jobs:
            job.stop()

    def _start(self, name: str, kind: str, command: list[str], out: Path, steps: int) -> Job:
        if name in self.running():
            raise PeftctlError(f"job '{name}' is running; stop it first or choose another name")
        log = self.root / LAUNCH_DIR / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w", encoding="utf-8") as handle:
            process = subprocess.Popen(
                command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )
        job = Job(name, kind, process, log, out, steps)
        self.jobs = [j for j in self.jobs if j.name != name] + [job]
        return job


def _kind(hint: Any, spec: dataclasses.Field) -> tuple[str, tuple[str, ...]]:
    choices = tuple(str(c) for c in spec.metadata.get("choices", ()))
    if choices:
        return "choice", choices
    if typing.get_origin(hint) is typing.Literal:
        return "choice", tuple(str(c) for c in typing.get_args(hint))
    for kind, types in (("bool", bool), ("int", int), ("float", float)):
        if hint is types:
            return kind, ()
    return "text", ()


def _whole(value: Any) -> Any:
    """A form number as an int where it is one (gradio hands numbers over as floats)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _last_step(log: Path) -> int:
    for line in reversed(_lines(log)):
        try:
            return int(json.loads(line).get("step", 0))
        except (AttributeError, TypeError, ValueError):
            continue  # a line being written
    return 0


def _lines(log: Path) -> list[str]:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [ln.strip() for ln in text.replace("\r", "\n").splitlines() if ln.strip()]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
