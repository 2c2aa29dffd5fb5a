"""The page's launch form: the typed recipe schema as form fields, checked exactly as the CLI
checks a recipe; ``peftctl train`` started as a subprocess and a bench run as a thread calling
:func:`peftctl.bench.session.run_spec` (its cells run in worker processes), whose progress the
page follows. No gradio here."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
    from peftctl.typed import field_default

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


class Running(Protocol):
    """What a job runs in: a process, or a thread that answers as one."""

    def poll(self) -> int | None:
        """None while running, else the exit code."""

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code, once it has ended (or None after ``timeout`` seconds)."""


class BenchThread(threading.Thread):
    """``bench run`` inside the server; its lines (and a bug's traceback) go to ``log``."""

    def __init__(self, spec: str, overrides: list[str], out: Path, log: Path) -> None:
        super().__init__(name=f"bench {spec}", daemon=True)
        self.spec, self.overrides, self.out, self.log = spec, overrides, out, log
        self.code: int | None = None

    def run(self) -> None:
        from peftctl.bench.session import RunOptions, run_spec

        with self.log.open("w", encoding="utf-8") as handle:

            def say(line: str) -> None:
                handle.write(line + "\n")
                handle.flush()

            try:
                done = run_spec(
                    self.spec, self.overrides, str(self.out), RunOptions(quiet=True), say
                )
                failed = len(done.outcome.failed)
                say(f"done: {len(done.outcome.finished)} finished, {failed} failed")
                self.code = 1 if failed else 0
            except PeftctlError as error:
                say(f"error: {error}")
                self.code = 2
            except Exception:  # a bug: kept in the log, the server goes on
                handle.write(traceback.format_exc())
                self.code = 1

    def poll(self) -> int | None:
        return None if self.is_alive() else self.code

    def wait(self, timeout: float | None = None) -> int | None:
        self.join(timeout)
        return self.poll()


@dataclass
class Job:
    """A launched ``peftctl train`` process or bench thread."""

    name: str
    kind: str  # train | bench
    process: Running
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
        log = self._log(name)
        thread = BenchThread(spec, overrides, out, log)
        thread.start()
        job = Job(name, "bench", thread, log, out, 0)
        self.jobs.append(job)
        return job

    def status_lines(self) -> list[str]:
        """One line per job: state, progress, the last line of its output."""
        return [_status_line(job) for job in reversed(self.jobs)]

    def finished(self) -> int:
        return sum(job.state != "running" for job in self.jobs)

    def _log(self, name: str) -> Path:
        log = self.root / LAUNCH_DIR / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        return log

    def _start(self, name: str, kind: str, command: list[str], out: Path, data: dict) -> Job:
        log = self._log(name)
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
