"""The GPU path: a tiny model trains and is scored on CUDA in bf16 (skipped without a GPU;
``benchmarks/gpu_check.sh`` runs it with ``pytest -m cuda``)."""

from __future__ import annotations

import json

import pytest
import torch

from tests.training.test_train_cli import tiny_overrides

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def test_training_on_cuda_uses_bf16_and_reports_gpu_memory(tiny_model_dir, tmp_path, cli):
    out = tmp_path / "run"
    overrides = tiny_overrides(tiny_model_dir, out, "eval.after_train=true")
    code, _, err = cli("train", "lora_sst2", *overrides, "--quiet")
    assert code == 0, err
    card = json.loads((out / "run.json").read_text())
    assert card["device"]["type"] == "cuda"
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    assert card["precision"]["chosen"] == expected
    assert card["memory"]["peak_gpu_bytes"] > 0
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    evals = [r["eval_loss"] for r in log if "eval_loss" in r]
    assert card["training"]["best_eval_loss"] < evals[0]  # it learned on the GPU
    assert card["evaluation"]["examples"] == 16
