"""The page's launch form: the typed recipe schema as form fields, checked exactly as the CLI
checks a recipe, and ``peftctl train`` / ``peftctl bench run`` started as subprocesses whose
progress the page follows. No gradio here."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from peftctl.errors import PeftctlError

LAUNCH_DIR = ".launch"  # recipes and logs of launched jobs, inside the served folder
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


@dataclass(frozen=True)
class FormField:
    """One method option as a form field: its name, default as text, help and choices."""

    name: str
    default: str
    help: str
    choices: tuple[str, ...] = ()


def method_fields(method: str) -> list[FormField]:
    """The options of ``method`` (its typed config), as form fields."""
    from peftctl.config.recipe import method_config_class
    from peftctl.config.typed import field_default

    fields = []
    for spec in dataclasses.fields(method_config_class(method)):
        if spec.name == "name" or not spec.init:
            continue
        default = field_default(spec)
        default = "" if default is dataclasses.MISSING else default
        choices = tuple(str(c) for c in spec.metadata.get("choices", ()))
        fields.append(FormField(spec.name, _text(default), spec.metadata.get("help", ""), choices))
    return fields


def recipe_from_form(form: dict[str, Any], method_options: dict[str, str], root: Path):
    """(recipe mapping, validated config) from the form; errors are the CLI's one-liners."""
    from peftctl.config.recipe import build_recipe

    name = str(form.get("name") or "").strip()
    if not name or not set(name) <= _NAME_CHARS or name.startswith("."):
        raise PeftctlError("run name: use letters, digits and _-. only (it names the folder)")
    out = root / name
    if out.exists():
        raise PeftctlError(f"run name: {out} exists; choose another name")
    defaults = {f.name: f.default for f in method_fields(str(form["method"]))}
    changed = {k: v for k, v in method_options.items() if v != defaults.get(k)}
    data = {
        "model": {"name": form["model"]},
        "method": {"name": form["method"], **changed},
        "dataset": {
            "name": form["dataset"],
            "max_train_samples": int(form["max_train_samples"]),
            "max_eval_samples": int(form["max_eval_samples"]),
        },
        "train": {
            "lr": form["lr"],
            "max_steps": int(form["max_steps"]),
            "batch_size": int(form["batch_size"]),
            "save_every": 0,
        },
        "eval": {"after_train": True, "mode": form["eval_mode"]},
        "output_dir": str(out),
    }
    return data, build_recipe(data)


@dataclass
class Job:
    """A launched ``peftctl`` process."""

    name: str
    kind: str  # train | bench
    process: subprocess.Popen
    log: Path
    run_dir: Path
    total_steps: int
    started: float = field(default_factory=time.time)

    @property
    def state(self) -> str:
        code = self.process.poll()
        return "running" if code is None else ("finished" if code == 0 else f"failed ({code})")


class Launcher:
    """Starts jobs in the served folder ``root`` and reports on them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs: list[Job] = []

    def train(self, form: dict[str, Any], method_options: dict[str, str]) -> Job:
        data, config = recipe_from_form(form, method_options, self.root)
        recipe = self.root / LAUNCH_DIR / f"{form['name']}.yaml"
        recipe.parent.mkdir(parents=True, exist_ok=True)
        recipe.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        command = [sys.executable, "-m", "peftctl", "train", str(recipe)]
        return self._start(form["name"], "train", command, Path(config.output_dir), data)

    def bench(self, spec: str, overrides: list[str]) -> Job:
        from peftctl.bench.spec import load_spec

        load_spec(spec, overrides)  # the CLI's checks, before anything starts
        name = f"bench-{Path(spec).stem}"
        out = self.root / "bench" / Path(spec).stem
        command = [sys.executable, "-m", "peftctl", "bench", "run", spec, *overrides]
        return self._start(name, "bench", [*command, "-o", str(out), "-q"], out, {})

    def status_lines(self) -> list[str]:
        """One line per job: state, progress, the last line of its output."""
        return [_status_line(job) for job in reversed(self.jobs)]

    def finished(self) -> int:
        return sum(job.state != "running" for job in self.jobs)

    def _start(self, name: str, kind: str, command: list[str], out: Path, data: dict) -> Job:
        log = self.root / LAUNCH_DIR / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w", encoding="utf-8") as handle:
            process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
        steps = int((data.get("train") or {}).get("max_steps") or 0)
        job = Job(name, kind, process, log, out, steps)
        self.jobs.append(job)
        return job


def _status_line(job: Job) -> str:
    step = _last_step(job.run_dir / "log.jsonl")
    progress = f"step {step}/{job.total_steps}" if job.kind == "train" and step else ""
    tail = _last_line(job.log)
    seconds = int(time.time() - job.started)
    parts = [f"**{job.name}** ({job.kind}): {job.state}", progress, f"{seconds} s", tail]
    return " · ".join(p for p in parts if p)


def _last_step(log: Path) -> int:
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    for line in reversed(lines):
        try:
            return int(json.loads(line).get("step", 0))
        except (AttributeError, TypeError, ValueError):
            continue  # a line being written
    return 0


def _last_line(log: Path) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [ln.strip() for ln in text.replace("\r", "\n").splitlines() if ln.strip()]
    return f"`{lines[-1][:160]}`" if lines else ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
