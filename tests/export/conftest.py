"""Runs trained once per session on the tiny model (real byte-level BPE tokenizer, chat
template), exported by the tests in this folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from peftctl.cli import main

ALL_LINEAR = "method.target_modules=[q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj]"


def train_tiny(recipe: str, model_dir: str, out: Path, *overrides: str) -> Path:
    """``peftctl train`` for 3 steps at a high learning rate, so the adapter changes logits."""
    argv = [
        "train",
        recipe,
        f"model.name={model_dir}",
        f"output_dir={out}",
        "dataset.max_train_samples=12",
        "dataset.cutoff_len=48",
        "train.batch_size=4",
        "train.max_steps=3",
        "train.lr=5e-2",
        "train.precision=fp32",
        "train.save_every=0",
        "eval.at_start=false",
        "eval.load_best=false",
        "eval.after_train=false",
        "--quiet",
        *overrides,
    ]
    try:
        main(argv)
    except SystemExit as exc:
        assert exc.code in (0, None), f"training {recipe} failed"
    return out


@pytest.fixture(scope="session")
def lora_run(tiny_model_dir, tmp_path_factory) -> Path:
    """A LoRA run adapting every linear layer (q and k included: their rows are permuted)."""
    out = tmp_path_factory.mktemp("lora-run") / "run"
    return train_tiny("lora_sst2", tiny_model_dir, out, ALL_LINEAR, "method.alpha=32")
