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


def export_model(run: Path, model, tokenizer, path: Path, quant: str = "f32") -> Path:
    """Export any in-memory ``model`` + ``tokenizer`` as ``gguf`` (the run only names it)."""
    from peftctl.export.model_gguf import export_model_gguf
    from peftctl.export.plan import plan_export

    plan = plan_export(run, "gguf", quant=quant, output=path, overwrite=True)
    export_model_gguf(plan, model, tokenizer)
    return path


@pytest.fixture(scope="session")
def llama3_style_dir(tmp_path_factory) -> Path:
    """A tiny llama with Llama 3.1's rope scaling (felt at short range: original context 16)
    and a Llama 3 style tokenizer (Split regex + byte level, merges ignored), saved."""
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM

    from peftctl.export.gguf_tokenizer import LLAMA3_REGEX
    from peftctl.testing import TINY_LLAMA
    from tests.training.tiny import chat_tokenizer

    backend = Tokenizer(models.BPE(ignore_merges=True))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_REGEX), "isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    texts = ["the 12345 movies weren't bad at all;\n  really", "Classify the sentiment"] * 50
    tokenizer = chat_tokenizer(backend, texts, vocab_size=300)
    scaling = {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 16,
    }
    config = LlamaConfig(
        **{**TINY_LLAMA, "vocab_size": len(tokenizer)},
        rope_scaling=scaling,
        tie_word_embeddings=False,
        initializer_range=0.2,  # larger logits: the rope scaling shows in them
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("llama3-style")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
