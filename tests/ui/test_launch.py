"""The launch form: fields from the typed method config, checked as the CLI checks recipes."""

from __future__ import annotations

import pytest

from peftctl.errors import PeftctlError
from peftctl.ui.launch import method_fields, recipe_from_form

FORM = {
    "name": "try1",
    "model": "smollm2-135m-instruct",
    "method": "lora",
    "dataset": "sst2",
    "lr": "5e-4",
    "max_steps": 2,
    "batch_size": 4,
    "max_train_samples": 8,
    "max_eval_samples": 8,
    "eval_mode": "rank",
}


def test_method_fields_come_from_its_config_with_defaults_and_help():
    fields = {f.name: f for f in method_fields("lora")}
    assert {"r", "alpha", "target_modules"} <= set(fields)
    assert fields["r"].default == "8" and fields["r"].help
    assert "name" not in fields


def test_form_becomes_a_validated_recipe_with_only_changed_options(tmp_path):
    options = {f.name: f.default for f in method_fields("lora")} | {"r": "4"}
    data, config = recipe_from_form(FORM, options, tmp_path)
    assert data["method"] == {"name": "lora", "r": "4"}
    assert config.method.r == 4 and config.train.max_steps == 2
    assert config.output_dir == str(tmp_path / "try1") and config.eval.after_train


@pytest.mark.parametrize(
    ("change", "options", "message"),
    [
        ({"lr": "fast"}, {}, "train.lr='fast' is not a number"),
        ({"dataset": "sst3"}, {}, "unknown dataset 'sst3'"),
        ({"name": "../up"}, {}, "run name: use letters"),
        ({}, {"r": "-1"}, "method.r=-1 is out of range"),
    ],
)
def test_form_mistakes_are_the_cli_messages(tmp_path, change, options, message):
    with pytest.raises(PeftctlError, match=message.replace("(", r"\(").replace(")", r"\)")):
        recipe_from_form({**FORM, **change}, options, tmp_path)


def test_an_existing_run_name_is_refused(tmp_path):
    (tmp_path / "try1").mkdir()
    with pytest.raises(PeftctlError, match="exists; choose another name"):
        recipe_from_form(FORM, {}, tmp_path)


def test_a_bench_is_checked_before_it_starts_and_then_runs(tmp_path, tiny_model_dir):
    from peftctl.ui.launch import Launcher

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
    job = launcher.bench("quick", overrides)
    assert job.process.wait(timeout=300) == 0, job.log.read_text()[-2000:]
    assert job.state == "finished" and (tmp_path / "bench" / "quick" / "summary.md").is_file()
    assert "finished" in launcher.status_lines()[0]
