"""Runs written by an older peftctl still evaluate, with the same predictions and scores.

``tests/fixtures/old_runs/`` holds tiny runs that peftctl 0.2.0 trained and scored (before the
PEFT methods moved into their own packages); ``tests/fixtures/make_old_runs.py`` wrote them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.staged import needs_staged

OLD_RUNS = Path(__file__).resolve().parents[1] / "fixtures" / "old_runs"
MODEL = OLD_RUNS / "tiny-model"
#: The fixtures were scored on transformers 4.57, whose rotary embedding computes its angles as
#: a matmul that FlopCounterMode counts (2 x head_dim/2 per position); 5.x multiplies.
ROTARY_FLOPS_PER_POSITION = 2 * 8 // 2
METHODS = sorted(p.name for p in OLD_RUNS.iterdir() if (p / "run.json").is_file())


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def evaluate(cli, run: Path, out: Path, *options: str) -> tuple[dict, list[dict]]:
    """``peftctl eval RUN`` on the fixture model (its recipe names it by a relative path)."""
    code, _, err = cli("eval", str(run), f"model.name={MODEL}", "--quiet", "-o", str(out), *options)
    assert code == 0, err
    return json.loads((out / "metrics.json").read_text()), read_jsonl(out / "predictions.jsonl")


def quality(summary: dict) -> dict[str, float]:
    """The scores that depend on predictions only (PSCP also weighs measured memory)."""
    return {name: v for name, v in summary["metrics"].items() if name != "pscp"}


def test_every_standard_method_package_has_an_old_run():
    assert len(METHODS) >= 9 and {"lora", "vera", "prompt_tuning", "prefix_tuning"} <= set(METHODS)


@needs_staged("sst2")
@pytest.mark.parametrize("method", METHODS)
def test_an_old_run_evaluates_as_it_did(method, cli, tmp_path):
    run = OLD_RUNS / method
    for recorded_dir, options in ((run, ()), (run / "rank", ("--mode", "rank"))):
        recorded = json.loads((recorded_dir / "metrics.json").read_text())
        summary, rows = evaluate(cli, run, tmp_path / recorded["mode"], *options)
        assert (summary["method"], summary["mode"]) == (method, recorded["mode"])
        assert quality(summary) == pytest.approx(quality(recorded), abs=1e-6)
        assert summary["trainable_params"] == recorded["trainable_params"]
        flops = recorded["inference_cost"]["flops"] - summary["inference_cost"]["flops"]
        positions, rest = divmod(flops, ROTARY_FLOPS_PER_POSITION)
        assert flops == 0 or (rest == 0 and 512 <= positions <= 512 + 16)  # + virtual tokens
        expected = read_jsonl(recorded_dir / "predictions.jsonl")
        assert [r["id"] for r in rows] == [r["id"] for r in expected]
        for got, old in zip(rows, expected, strict=True):
            assert (got["output"], got["prediction"]) == (old["output"], old["prediction"])
            if old["scores"] is not None:
                assert got["scores"] == pytest.approx(old["scores"], abs=1e-4), got["id"]


@pytest.mark.parametrize("method", METHODS)
def test_an_old_run_evaluates_in_bf16(method, cli, tmp_path):
    """Evaluation runs the adapter in the base's dtype, buffers it brings included (VeRA's
    projections once met bf16 inputs in fp32: a dtype error)."""
    summary, rows = evaluate(cli, OLD_RUNS / method, tmp_path, "--mode", "rank",
                             "train.precision=bf16")  # fmt: skip
    assert summary["precision"] == "bf16"
    assert len(rows) == len(read_jsonl(OLD_RUNS / method / "rank" / "predictions.jsonl"))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("method", METHODS)
def test_the_bench_measures_forgetting_of_every_method(method, precision):
    """The bench's forgetting loads an adapter as eval does (AdaLoRA loaded frozen once had
    no trainable adapter name for peft's forward; VeRA's fp32 buffers met bf16 inputs)."""
    from peftctl.bench.forgetting import forgetting
    from peftctl.config.recipe import load_recipe

    run = OLD_RUNS / method
    config = load_recipe(
        run / "recipe.yaml", [f"model.name={MODEL}", f"train.precision={precision}"]
    )
    lost = forgetting(config, run / "adapter")
    assert lost["base_loss"] > 0 and lost["adapted_loss"] > 0
    assert lost["increase"] == pytest.approx(lost["adapted_loss"] - lost["base_loss"], abs=1e-4)
