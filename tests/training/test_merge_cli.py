"""`peftctl merge`: a run trained on the tiny model becomes a standalone HF model whose logits
are the adapter's; non-mergeable methods and unfinished runs are refused before any loading."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from peftctl.plugin_manager import get_plugins
from tests.core.test_cli import HEAVY_MODULES, LAZY_PROBE


def train(recipe: str, model_dir: str, out: Path, cli) -> None:
    overrides = [
        f"model.name={model_dir}",
        f"output_dir={out}",
        "dataset.max_train_samples=8",
        "dataset.max_eval_samples=4",
        "dataset.cutoff_len=48",
        "train.batch_size=4",
        "train.max_steps=2",
        "train.lr=5e-2",
        "train.precision=fp32",
        "train.save_every=0",
        "eval.at_start=false",
        "eval.load_best=false",
        "eval.after_train=false",
    ]
    code, _, err = cli("train", recipe, *overrides, "--quiet")
    assert code == 0, err


def adapted_logits(run_dir: Path, model_dir: str, ids: torch.Tensor) -> torch.Tensor:
    """Logits of the base model with the run's adapter, loaded the way evaluation does."""
    from transformers import AutoModelForCausalLM

    from peftctl.config.recipe import load_recipe

    config = load_recipe(run_dir / "recipe.yaml")
    method = get_plugins().methods.get(config.method.name).load()(config.method)
    model = method.load(AutoModelForCausalLM.from_pretrained(model_dir), run_dir / "adapter")
    with torch.no_grad():
        return model(input_ids=ids).logits


@pytest.mark.parametrize("recipe", ["lora_sst2", "freeze_sst2"])
def test_merged_model_gives_the_adapters_logits(tiny_model_dir, tmp_path, cli, recipe):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run_dir, out = tmp_path / "run", tmp_path / "merged"
    train(recipe, tiny_model_dir, run_dir, cli)
    code, stdout, err = cli("merge", str(run_dir), str(out))
    assert code == 0, err
    assert f"into {out}" in stdout
    assert not (out / "adapter_config.json").exists()  # standalone, no peft needed
    card = json.loads((out / "merge.json").read_text())
    assert card["source_run"] == str(run_dir.resolve())
    assert card["method"] == recipe.removesuffix("_sst2") and card["dtype"] == "fp32"
    assert card["versions"]["peftctl"]
    assert not list(tmp_path.glob(".merged*")), "temporary directories are left behind"

    ids = torch.tensor([[5, 17, 42, 99, 7, 3]])
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    with torch.no_grad():
        got = merged(input_ids=ids).logits
        base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)(input_ids=ids).logits
    expected = adapted_logits(run_dir, tiny_model_dir, ids)
    assert not torch.allclose(expected, base, atol=1e-3), "training changed nothing"
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
    assert AutoTokenizer.from_pretrained(out)("positive").input_ids


def test_existing_output_needs_overwrite_and_dtype_is_kept(tiny_model_dir, tmp_path, cli):
    from safetensors import safe_open

    run_dir, out = tmp_path / "run", tmp_path / "merged"
    train("lora_sst2", tiny_model_dir, run_dir, cli)
    out.mkdir()
    (out / "old.txt").write_text("x")
    code, _, err = cli("merge", str(run_dir), str(out))
    assert code == 2 and "is not empty; pass --overwrite" in err
    code, _, err = cli("merge", str(run_dir), str(out), "--overwrite", "--dtype", "bf16")
    assert code == 0, err
    assert not (out / "old.txt").exists()
    with safe_open(str(out / "model.safetensors"), "pt") as weights:
        assert {weights.get_tensor(k).dtype for k in weights.keys()} == {torch.bfloat16}  # noqa: SIM118
    code, _, err = cli("merge", str(run_dir), str(tmp_path), "--overwrite")
    assert code == 2 and "holds the run" in err


def fake_run(folder: Path, method: str, *, adapter: bool = True) -> Path:
    """A run directory whose model does not exist: any attempt to load it would fail."""
    folder.mkdir()
    recipe = {"model": {"name": "example-org/no-such-model"}, "method": {"name": method}}
    (folder / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    if adapter:
        (folder / "adapter").mkdir()
        (folder / "adapter" / "adapter_model.safetensors").write_bytes(b"")
    return folder


@pytest.mark.parametrize("method", ["prompt_tuning", "prefix_tuning", "mtp"])
def test_non_mergeable_method_is_refused_before_loading(tmp_path, cli, method):
    run_dir = fake_run(tmp_path / "run", method)
    code, out, err = cli("merge", str(run_dir), str(tmp_path / "out"))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith(f"error: method '{method}' (prompt-based) cannot be merged")
    assert not (tmp_path / "out").exists()


def test_refusal_imports_no_heavy_library(tmp_path):
    run_dir = fake_run(tmp_path / "run", "prompt_tuning")
    argv = ["merge", str(run_dir), str(tmp_path / "out")]
    probe = LAZY_PROBE.format(argv=argv, heavy=HEAVY_MODULES)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "cannot be merged" in result.stderr
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: fake_run(d, "lora", adapter=False), "has no adapter/ (the run did not finish)"),
        (lambda d: d, "is not a run directory (no recipe.yaml)"),
    ],
    ids=["no-adapter", "no-recipe"],
)
def test_unfinished_or_missing_run_is_one_line(tmp_path, cli, make, message):
    run_dir = make(tmp_path / "run")
    code, _, err = cli("merge", str(run_dir), str(tmp_path / "out"), "--dtype", "fp32")
    assert code == 2 and message in err and err.count("\n") == 1


def test_unknown_dtype_is_refused(tmp_path, cli):
    run_dir = fake_run(tmp_path / "run", "lora")
    code, _, err = cli("merge", str(run_dir), str(tmp_path / "out"), "--dtype", "int8")
    assert code == 2 and "--dtype must be one of fp32, bf16, fp16" in err
