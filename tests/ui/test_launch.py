"""The launch form and jobs: typed fields with each method's tuned defaults, the CLI's checks
(model and dataset included) before anything starts, the jobs folder, stop, failure reasons."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from peftctl.errors import PeftctlError
from peftctl.ui.launch import (
    Launcher,
    check_form,
    form_defaults,
    jobs_folder,
    method_fields,
    recipe_from_form,
)

FORM = {
    "name": "try1",
    "model": "smollm2-135m-instruct",
    "method": "lora",
    "dataset": "sst2",
    "lr": 5e-4,
    "max_steps": 2.0,  # gradio hands numbers over as floats
    "batch_size": 4,
    "max_train_samples": 8,
    "max_eval_samples": 8,
    "eval_mode": "rank",
}


def test_method_fields_are_typed_with_ranges_choices_and_full_help():
    fields = {f.name: f for f in method_fields("lora")}
    assert {"r", "alpha", "target_modules"} <= set(fields)
    assert fields["r"].kind == "int" and fields["r"].minimum == 1 and fields["r"].default == 8
    assert fields["dropout"].kind == "float" and fields["target_modules"].kind == "text"
    assert fields["use_rslora"].kind == "bool" if "use_rslora" in fields else True
    assert fields["init"].kind == "choice" and "pissa" in fields["init"].choices
    assert "name" not in fields and len(fields["r"].help) > 10


def test_defaults_are_the_methods_tuned_recipe():
    # ia3_sst2 trains at 3e-3 (peftctl's own default would be 5e-4)
    assert form_defaults("ia3")["lr"] == 3e-3 and form_defaults("ia3")["batch_size"] == 8
    tuned = {f.name: f.default for f in method_fields("ia3")}
    assert tuned["target_modules"] == "role:key,role:value,role:down"


def test_form_becomes_a_validated_recipe_with_the_tuned_options(tmp_path):
    options = {f.name: f.default for f in method_fields("lora")} | {"r": 4}
    data, config = recipe_from_form(FORM, options, tmp_path)
    assert data["method"]["r"] == 4 and config.method.r == 4
    assert config.train.max_steps == 2 and isinstance(data["train"]["max_steps"], int)
    assert config.output_dir == str(tmp_path / "try1") and config.eval.after_train


@pytest.mark.parametrize(
    ("change", "options", "message"),
    [
        ({"lr": "fast"}, {}, "train.lr='fast' is not a number"),
        ({"dataset": "sst3"}, {}, "unknown dataset 'sst3'"),
        ({"name": "../up"}, {}, "run name: use letters"),
        ({}, {"r": -1}, "method.r=-1 is out of range"),
        ({"max_steps": 0}, {}, "train.max_steps=0: give at least 1 step"),
        ({"max_steps": None}, {}, "train.max_steps=None: give at least 1 step"),
    ],
)
def test_form_mistakes_are_the_cli_messages(tmp_path, change, options, message):
    with pytest.raises(PeftctlError, match=message.replace("(", r"\(").replace(")", r"\)")):
        recipe_from_form({**FORM, **change}, options, tmp_path)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("/etc", "model.name=/etc: this directory holds no config.json"),
        ("no-such-model", "model.name=no-such-model: no such directory, not in the Hugging Face"),
        ("./missing/dir", "model.name=./missing/dir: no such directory"),
        ("bad id with spaces", "not a directory, a .gguf file or a valid hub id"),
    ],
)
def test_a_model_that_cannot_be_had_is_refused_before_launch(tmp_path, monkeypatch, model, message):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    launcher = Launcher(tmp_path)
    with pytest.raises(PeftctlError, match=message.replace(".", r"\.")):
        launcher.train({**FORM, "model": model}, {})
    assert launcher.jobs == [] and not (tmp_path / "try1").exists()


def test_a_dataset_missing_offline_is_refused_as_validate_does(tmp_path, monkeypatch, cli):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("PEFTCTL_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(PeftctlError, match=r"dataset 'rte' split train is not available offline"):
        check_form({**FORM, "dataset": "rte"}, {}, tmp_path)
    code, _, err = cli("validate", "lora_sst2", "dataset.name=rte")
    assert code == 2 and "dataset 'rte' split train is not available offline: no " in err
    check_form(FORM, {}, tmp_path)  # sst2 ships a sample, which training falls back to


def test_an_existing_run_name_is_refused(tmp_path):
    (tmp_path / "try1").mkdir()
    with pytest.raises(PeftctlError, match="exists; choose another name"):
        recipe_from_form(FORM, {}, tmp_path)


def test_jobs_never_go_inside_a_bench_or_a_run(served):
    bench, run = served / "bench" / "quick", served / "my_run"
    assert jobs_folder([bench, served]) == served
    assert jobs_folder([bench / "cells", run]) == Path("runs")
    assert jobs_folder([served]) == served


def _sleeper(launcher: Launcher, name: str, seconds: float, code: int = 0, say: str = ""):
    script = (
        f"import sys, time; print({say!r}, flush=True); time.sleep({seconds}); sys.exit({code})"
    )
    return launcher._start(name, "train", [sys.executable, "-c", script], launcher.root / name, 5)


def test_a_job_can_be_stopped_and_its_duration_stops_counting(tmp_path):
    launcher = Launcher(tmp_path)
    job = _sleeper(launcher, "long", 300)
    assert job.state == "running" and launcher.running() == ["long"]
    job.stop()
    assert job.state == "stopped" and launcher.running() == []
    took = job.seconds
    time.sleep(1.1)
    assert job.seconds == took  # final, not counting on
    assert launcher.rows()[0]["state"] == "stopped"
    assert launcher.states() == {str((tmp_path / "long").resolve()): "stopped"}


def test_a_failed_job_says_why(tmp_path):
    launcher = Launcher(tmp_path)
    job = _sleeper(launcher, "bad", 0, code=2, say="error: model.name=x: no such directory")
    job.process.wait(timeout=30)
    assert job.state == "failed"
    assert launcher.rows()[0]["detail"] == "error: model.name=x: no such directory"
    with pytest.raises(PeftctlError, match="is running; stop it first"):
        _sleeper(launcher, "again", 300)
        _sleeper(launcher, "again", 300)
    launcher.stop_all()


def test_a_bench_is_checked_before_it_starts_and_then_runs(tmp_path, tiny_model_dir):
    launcher = Launcher(tmp_path)
    with pytest.raises(PeftctlError, match=r"unknown key 'budget\.tokens'"):
        launcher.bench("quick", ["budget.tokens=5"])
    assert launcher.jobs == []
    overrides = [
        f"model={tiny_model_dir}",
        "seeds=[0]",
        "methods=[lora]",
        "budget.max_steps=2",
        "dataset.max_train_samples=16",
        "dataset.max_eval_samples=8",
    ]
    cells, line = launcher.plan("quick", overrides)
    assert cells == 1 and "no estimate yet" in line
    job = launcher.bench("quick", overrides)
    assert job.process.wait(timeout=300) == 0, job.log.read_text()[-2000:]
    assert job.state == "finished" and (tmp_path / "bench" / "quick" / "summary.md").is_file()
    assert "finished" in launcher.status_lines()[0]
