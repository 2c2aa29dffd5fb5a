"""`peftctl train` end to end on a tiny model saved to disk: outputs, refusals, precision,
resume, several processes; and a few runs of the real default model (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[2]


def tiny_overrides(model_dir: str, out: Path, *extra: str) -> list[str]:
    return [
        f"model.name={model_dir}",
        f"output_dir={out}",
        "dataset.max_train_samples=32",
        "dataset.max_eval_samples=16",
        "dataset.cutoff_len=64",
        "train.batch_size=4",
        "train.max_steps=6",
        "train.eval_every=3",
        "train.save_every=3",
        "train.lr=1e-2",
        "eval.after_train=false",
        *extra,
    ]


def test_train_writes_every_output(tiny_model_dir, tmp_path, cli):
    out = tmp_path / "run"
    code, stdout, err = cli("train", "lora_sst2", *tiny_overrides(tiny_model_dir, out))
    assert code == 0, err
    assert "done: 6 steps" in stdout
    assert {p.name for p in out.iterdir()} == {
        "adapter",
        "recipe.yaml",
        "run.json",
        "log.jsonl",
        "checkpoints",
    }
    card = json.loads((out / "run.json").read_text())
    assert card["training"]["steps"] == 6 and card["seed"] == 42
    assert card["precision"]["requested"] == "auto"
    assert card["precision"]["chosen"] in ("fp32", "bf16")
    assert set(card["precision"]["cpu"]) >= {"amx", "avx512_bf16", "cpu_model"}
    assert 0 < card["parameters"]["trainable"] < card["parameters"]["total"]
    assert card["versions"]["torch"] == torch.__version__.split("+")[0] or card["versions"]["torch"]
    assert card["dataset"]["splits"]["train"]["examples"] == 32
    assert card["training"]["best_eval_loss"] is not None
    recipe = yaml.safe_load((out / "recipe.yaml").read_text())
    assert recipe["train"]["max_steps"] == 6 and recipe["model"]["name"] == tiny_model_dir
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [1, 2, 3, 4, 5, 6]
    assert not list(out.rglob(".*tmp*"))


def test_adapter_loads_with_peft_unchanged(tiny_model_dir, tmp_path, cli):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    out = tmp_path / "run"
    overrides = tiny_overrides(tiny_model_dir, out, "train.precision=fp32", "eval.load_best=false")
    assert cli("train", "lora_sst2", *overrides, "--quiet")[0] == 0
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(out / "adapter")
    )
    saved = load_file(str(out / "adapter" / "adapter_model.safetensors"))
    assert saved and all("lora_" in name for name in saved)
    loaded = {n: p for n, p in model.named_parameters() if "lora_" in n}
    assert len(loaded) == len(saved)
    b = next(v for k, v in saved.items() if "lora_B" in k)
    assert b.abs().sum() > 0  # trained, not the zero init


def test_existing_output_dir_needs_resume_or_overwrite(tiny_model_dir, tmp_path, cli):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("x")
    args = ["train", "lora_sst2", *tiny_overrides(tiny_model_dir, out), "--quiet"]
    code, _, err = cli(*args)
    assert code == 2 and "already holds results; pass --resume" in err
    code, _, err = cli(*args, "--resume")
    assert code == 2 and "--resume: no checkpoint" in err
    assert cli(*args, "--overwrite")[0] == 0
    assert not (out / "old.txt").exists()


def test_resume_continues_from_the_latest_checkpoint(tiny_model_dir, tmp_path, cli):
    out = tmp_path / "run"
    base = tiny_overrides(tiny_model_dir, out, "train.precision=fp32")
    assert cli("train", "lora_sst2", *base, "--quiet")[0] == 0
    code, _, err = cli("train", "lora_sst2", *base, "train.max_steps=9", "--resume")
    assert code == 0, err
    card = json.loads((out / "run.json").read_text())
    assert card["resumed_from"].endswith("step-00000006")
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == list(range(1, 10))


@pytest.mark.parametrize(("bf16_s", "expected"), [(0.01, "bf16"), (0.05, "fp32")])
def test_auto_precision_follows_the_measured_cpu(
    tiny_model_dir, tmp_path, cli, monkeypatch, bf16_s, expected
):
    from peftctl import precision_probe

    monkeypatch.setenv("PEFTCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(precision_probe, "measure", lambda: (0.02, bf16_s, True))
    out = tmp_path / "run"
    overrides = tiny_overrides(tiny_model_dir, out, "train.max_steps=2", "train.save_every=0")
    assert cli("train", "lora_sst2", *overrides, "--quiet")[0] == 0
    precision = json.loads((out / "run.json").read_text())["precision"]
    assert precision["chosen"] == expected
    assert precision["cpu"]["bf16_speedup"] == round(0.02 / bf16_s, 4)


def test_two_processes_with_torchrun(tiny_model_dir, tmp_path):
    out = tmp_path / "ddp"
    overrides = tiny_overrides(
        tiny_model_dir, out, "train.precision=fp32", "train.batch_size=2", "eval.after_train=true"
    )
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(29500 + os.getpid() % 1000),
        "-m",
        "peftctl",
        "train",
        "lora_sst2",
        *overrides,
        "--quiet",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    card = json.loads((out / "run.json").read_text())
    assert card["device"]["processes"] == 2
    assert card["training"]["steps"] == 6
    # one step = 2 processes x batch 2: 4 examples; both processes' RNG states are saved
    latest = out / "checkpoints" / "step-00000006"
    assert {p.name for p in latest.glob("random_states_*")} == {
        "random_states_0.pkl",
        "random_states_1.pkl",
    }
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    # the main process scores the run once; the other waits for it
    assert json.loads((out / "metrics.json").read_text())["examples"] == 16
    assert card["evaluation"]["examples"] == 16


@pytest.mark.slow
def test_default_model_lora_sst2_lowers_eval_loss(tmp_path, cli):
    out = tmp_path / "run"
    overrides = [
        f"output_dir={out}",
        "dataset.max_train_samples=64",
        "dataset.max_eval_samples=16",
        "train.eval_every=4",
        "train.save_every=0",
    ]
    code, _, err = cli("train", "lora_sst2", *overrides, "--quiet")
    assert code == 0, err
    evals = [
        json.loads(line)["eval_loss"]
        for line in (out / "log.jsonl").read_text().splitlines()
        if "eval_loss" in line
    ]
    assert len(evals) == 3 and evals[-1] < evals[0]  # steps 0, 4, 8
    # the recipe scores the trained adapter on the same 16 eval examples
    summary = json.loads((out / "metrics.json").read_text())
    rows = (out / "predictions.jsonl").read_text().splitlines()
    assert summary["examples"] == len(rows) == 16 and summary["mode"] == "generate"
    assert summary["metrics"]["accuracy"] == sum(json.loads(r)["correct"] for r in rows) / 16


def test_report_to_tensorboard_writes_event_files(tiny_model_dir, tmp_path, cli):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    overrides = tiny_overrides(tiny_model_dir, out, "train.report_to=tensorboard")
    code, _, err = cli("train", "lora_sst2", *overrides, "--quiet")
    assert code == 0, err
    events = list((out / "tracking").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event file"
    accumulator = EventAccumulator(str(events[0].parent))
    accumulator.Reload()
    assert {"loss", "eval_loss", "lr"} <= set(accumulator.Tags()["scalars"])
    assert [e.step for e in accumulator.Scalars("loss")] == [1, 2, 3, 4, 5, 6]


def test_report_to_a_missing_tracker_is_one_line(tiny_model_dir, tmp_path, cli):
    import importlib.util

    if importlib.util.find_spec("mlflow") is not None:
        pytest.skip("mlflow is installed here")
    out = tmp_path / "run"
    overrides = tiny_overrides(tiny_model_dir, out, "train.report_to=mlflow")
    code, _, err = cli("train", "lora_sst2", *overrides, "--quiet")
    assert code == 2
    assert err == (
        "error: train.report_to=mlflow needs the mlflow package: pip install mlflow "
        "(or set train.report_to=none)\n"
    )
