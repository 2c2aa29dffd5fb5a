"""llama.cpp itself (llama-cpp-python) as the second reader of exported files: same tokens,
same next-token logits as the adapted HF model, and the LoRA adapter GGUF applied with
``lora_path`` matches the merged GGUF. Runs in ``nox -s export_llamacpp`` (which installs
llama-cpp-python, built from source); skipped where it is not installed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.export.test_export_gguf import TEXTS, export
from tests.training.test_merge_cli import adapted_logits

if os.environ.get("PEFTCTL_REQUIRE_LLAMA_CPP"):  # nox -s export_llamacpp: never skip
    import llama_cpp
else:
    llama_cpp = pytest.importorskip("llama_cpp")


def llamacpp_logits(path: Path, ids: list[int], lora: Path | None = None) -> np.ndarray:
    options = {"lora_path": str(lora)} if lora else {}
    model = llama_cpp.Llama(
        str(path), n_ctx=64, logits_all=True, verbose=False, n_threads=1, **options
    )
    try:
        model.eval(ids)
        return np.array(model.scores[: len(ids)])
    finally:
        model.close()


@pytest.fixture(scope="module")
def ids(tiny_model_dir) -> list[int]:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)(TEXTS[0]).input_ids


@pytest.mark.parametrize(("quant", "atol"), [("f32", 1e-3), ("f16", 2e-2)])
def test_llama_cpp_logits_match_the_adapted_model(
    lora_run, tiny_model_dir, cli, tmp_path, ids, quant, atol
):
    path = export(cli, lora_run, tmp_path / "m.gguf", "--quant", quant)
    expected = adapted_logits(lora_run, tiny_model_dir, torch.tensor([ids]))[0].numpy()
    np.testing.assert_allclose(llamacpp_logits(path, ids), expected, atol=atol, rtol=0)


def test_llama_cpp_tokenizes_like_the_original(lora_run, tiny_model_dir, cli, tmp_path):
    from transformers import AutoTokenizer

    path = export(cli, lora_run, tmp_path / "m.gguf", "--quant", "q8_0")
    model = llama_cpp.Llama(str(path), n_ctx=64, vocab_only=True, verbose=False)
    original = AutoTokenizer.from_pretrained(tiny_model_dir)
    for text in [*TEXTS, "  two  spaces, digits 2024 and émojis 🙂"]:
        got = model.tokenize(text.encode(), add_bos=False, special=True)
        assert got == original(text, add_special_tokens=False).input_ids, text


def test_lora_adapter_on_the_base_matches_the_merged_model(
    lora_run, tiny_model_dir, cli, tmp_path, ids
):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from peftctl.export.model_gguf import export_model_gguf
    from peftctl.export.plan import plan_export

    base = plan_export(lora_run, "gguf", quant="f32", output=tmp_path / "base.gguf")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    export_model_gguf(base, model, AutoTokenizer.from_pretrained(tiny_model_dir))
    adapter = export(cli, lora_run, tmp_path / "adapter.gguf", "--format", "gguf-lora")
    merged = export(cli, lora_run, tmp_path / "merged.gguf", "--quant", "f32")
    with_lora = llamacpp_logits(base.output, ids, lora=adapter)
    np.testing.assert_allclose(with_lora, llamacpp_logits(merged, ids), atol=1e-3, rtol=0)
    assert not np.allclose(llamacpp_logits(base.output, ids), with_lora, atol=1e-3)


def test_llama3_rope_scaling_and_tokenizer_match_in_llama_cpp(lora_run, llama3_style_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.export.conftest import export_model

    model = AutoModelForCausalLM.from_pretrained(llama3_style_dir)
    tokenizer = AutoTokenizer.from_pretrained(llama3_style_dir)
    path = export_model(lora_run, model, tokenizer, tmp_path / "l3.gguf")
    text = "the 12345 movies weren't bad at all;\n  really, 7 of 10"
    ids = tokenizer(text).input_ids
    reader = llama_cpp.Llama(str(path), n_ctx=64, vocab_only=True, verbose=False)
    assert reader.tokenize(text.encode(), add_bos=False, special=True) == ids
    with torch.no_grad():
        expected = model(input_ids=torch.tensor([ids])).logits[0].numpy()
    # logits up to ~4 here; llama.cpp keeps K/V in f16 (measured: 4e-3 off; 5.7 without rope_freqs)
    np.testing.assert_allclose(llamacpp_logits(path, ids), expected, atol=2e-2, rtol=0)
