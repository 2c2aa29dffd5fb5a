"""A served folder made of a small bench and a plain run, written as peftctl writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml


def cell_result(name: str, label: str, seed: int, score: float, params: int, run_dir: Path):
    metrics = {"accuracy": score, "f1": score - 0.05, "pscp": score * 0.9}
    split = {
        "metrics": metrics,
        "split": "eval",
        "mode": "rank",
        "examples": 8,
        "invalid_rate": 0.0,
        "examples_per_second": 50.0,
    }
    return {
        "id": name,
        "name": name,
        "label": label,
        "method": label,
        "dataset": "sst2",
        "seed": seed,
        "lr": 1e-3,
        "lr_swept": False,
        "status": "finished",
        "primary_metric": "accuracy",
        "eval": split,
        "test": split,
        "test_is_eval": True,
        "pscp": score * 0.9,
        "trainable_params": params,
        "total_params": 100_000,
        "adapter_bytes": params * 4,
        "peak_rss_bytes": 2**30,
        "steps": 3,
        "train_seconds": 1.5,
        "tokens_per_second": 900.0,
        "final_train_loss": 1.0,
        "inference_flops": 1e9,
        "forgetting": {"increase": 0.01},
        "precision": "fp32",
        "hardware": {"device": "cpu", "threads": 2, "cpu": {"cpu_model": "test"}},
        "versions": {"torch": "x"},
        "run_dir": str(run_dir),
        "cell_seconds": 9.0,
    }


def write_run_files(run_dir: Path, method: str, score: float) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    recipe = {
        "model": {"name": "tiny"},
        "method": {"name": method},
        "dataset": {"name": "sst2"},
        "train": {"lr": 1e-3},
        "seed": 0,
        "output_dir": str(run_dir),
    }
    (run_dir / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    (run_dir / "adapter").mkdir(exist_ok=True)
    card = {
        "status": "finished",
        "method": method,
        "parameters": {"trainable": 500, "total": 9},
        "memory": {"peak_rss_bytes": 2**29},
        "training": {"steps": 3, "train_seconds": 2.0},
    }
    (run_dir / "run.json").write_text(json.dumps(card))
    metrics = {"primary_metric": "accuracy", "metrics": {"accuracy": score}, "split": "eval"}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    # each run its own curve (a better score, a lower loss)
    log = [{"step": s, "loss": round(2.0 / s + 1 - score, 4)} for s in (1, 2, 3)]
    log.append({"step": 3, "eval_loss": round(1.9 - score, 4)})
    (run_dir / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    predictions = [
        {
            "id": "0",
            "prompt": "p0",
            "gold": "positive",
            "output": "positive",
            "prediction": "positive",
            "correct": True,
        },
        {
            "id": "1",
            "prompt": "p1",
            "gold": "negative",
            "output": "positive",
            "prediction": "positive",
            "correct": False,
        },
        {
            "id": "2",
            "prompt": "p2",
            "gold": "negative",
            "output": "I think",
            "prediction": None,
            "correct": False,
        },
    ]
    (run_dir / "predictions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in predictions))


def add_scored_items(run_dir: Path, score: float, items: int = 20) -> None:
    """``items`` more predictions, the first ``score`` of them right: paired verdicts."""
    rows = [
        {"id": f"x{i}", "prompt": f"q{i}", "gold": "positive", "output": "positive",
         "prediction": "positive", "correct": i < round(score * items)}
        for i in range(items)
    ]  # fmt: skip
    with (run_dir / "predictions.jsonl").open("a") as handle:
        handle.write("".join(json.dumps(row) + "\n" for row in rows))


def make_served_folder(root: Path) -> Path:
    """``root/bench/quick`` (lora and ia3, 2 seeds each) and ``root/my_run`` (a plain run)."""
    bench = root / "bench" / "quick"
    cells = []
    for label, params, scores in (("lora", 4000, (0.8, 0.9)), ("ia3", 300, (0.7, 0.75))):
        for seed, score in enumerate(scores):
            name = f"{label}-sst2-s{seed}"
            run_dir = bench / "cells" / name
            write_run_files(run_dir, label, score)
            add_scored_items(run_dir, score)
            result = cell_result(name, label, seed, score, params, run_dir)
            (run_dir / "result.json").write_text(json.dumps(result))
            state = {
                **{
                    k: result[k]
                    for k in ("id", "name", "label", "method", "dataset", "seed", "lr", "lr_swept")
                },
                "status": "finished",
            }
            (bench / "state").mkdir(parents=True, exist_ok=True)
            (bench / "state" / f"{name}.json").write_text(json.dumps(state))
            cells.append({k: result[k] for k in state if k != "status"})
    (bench / "bench.json").write_text(json.dumps({"source": "quick", "cells": cells}))
    write_run_files(root / "my_run", "lora", 0.6)
    return root


@pytest.fixture
def served(tmp_path) -> Path:
    return make_served_folder(tmp_path / "runs")
