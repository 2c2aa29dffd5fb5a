"""`peftctl export --format gguf`: transformers' GGUF loader, an independent reader, rebuilds
the merged model (f32 within 1e-4, f16 within 1e-2, q8_0 same top-1 token) and the tokenizer;
the metadata is what llama.cpp reads for a llama model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType, GGUFReader

from tests.training.test_merge_cli import adapted_logits

TEXTS = [
    "a gripping , beautifully acted story",
    "the plot is thin and the jokes fall flat 123",
    "<|im_start|>user\nClassify the sentiment: dull<|im_end|>\n<|im_start|>assistant\n",
]


def export(cli, run: Path, out: Path, *options: str) -> Path:
    code, stdout, err = cli("export", str(run), "-o", str(out), *options)
    assert code == 0, err
    assert f"wrote {out}" in stdout
    return out


@pytest.fixture(scope="module")
def batch(tiny_model_dir) -> torch.Tensor:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = [tokenizer(text).input_ids[:12] for text in TEXTS]
    return torch.tensor([row + [0] * (12 - len(row)) for row in rows])


def gguf_logits(path: Path, ids: torch.Tensor) -> torch.Tensor:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        path.parent, gguf_file=path.name, dtype=torch.float32
    )  # transformers 5 refuses .float() on a GGUF-loaded model
    with torch.no_grad():
        return model.eval()(input_ids=ids).logits


@pytest.mark.parametrize(("quant", "atol"), [("f32", 1e-4), ("f16", 1e-2)])
def test_gguf_logits_match_the_merged_model(
    lora_run, tiny_model_dir, cli, tmp_path, batch, quant, atol
):
    path = export(cli, lora_run, tmp_path / f"model-{quant}.gguf", "--quant", quant)
    expected = adapted_logits(lora_run, tiny_model_dir, batch)
    torch.testing.assert_close(gguf_logits(path, batch), expected, atol=atol, rtol=0)
    assert not list(tmp_path.glob(".*")), "temporary files are left behind"


def test_q8_0_keeps_the_top_token_and_is_smaller(lora_run, tiny_model_dir, cli, tmp_path, batch):
    q8 = export(cli, lora_run, tmp_path / "q8.gguf", "--quant", "q8_0")
    f32 = export(cli, lora_run, tmp_path / "f32.gguf", "--quant", "f32")
    expected = adapted_logits(lora_run, tiny_model_dir, batch)
    got = gguf_logits(q8, batch)
    # q8_0 rounding moves this random tiny model's logits by ~0.04 (their spread is ~0.11, so a
    # wrong tensor moves them by far more); a top token ahead by more than twice that stays
    error = (got - expected).abs().max()
    assert error < 0.06
    top2 = expected.topk(2, dim=-1).values
    clear = top2[..., 0] - top2[..., 1] > 2 * error
    assert (got.argmax(-1) == expected.argmax(-1))[clear].all()
    types = {t.name: t.tensor_type for t in GGUFReader(q8).tensors}
    assert types["blk.0.attn_q.weight"] == GGMLQuantizationType.Q8_0
    assert types["blk.0.attn_norm.weight"] == GGMLQuantizationType.F32  # vectors stay f32
    assert q8.stat().st_size < f32.stat().st_size


def test_metadata_is_what_llama_cpp_reads(lora_run, tiny_model_dir, cli, tmp_path):
    from transformers import AutoConfig, AutoTokenizer

    reader = GGUFReader(export(cli, lora_run, tmp_path / "m.gguf"))
    meta = {key: field.contents() for key, field in reader.fields.items()}
    config = AutoConfig.from_pretrained(tiny_model_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert meta["general.architecture"] == "llama" and meta["general.type"] == "model"
    assert meta["llama.block_count"] == config.num_hidden_layers
    assert meta["llama.attention.head_count_kv"] == config.num_key_value_heads
    assert meta["llama.rope.dimension_count"] == config.hidden_size // config.num_attention_heads
    assert meta["llama.context_length"] == config.max_position_embeddings
    assert meta["llama.attention.layer_norm_rms_epsilon"] == pytest.approx(config.rms_norm_eps)
    assert meta["tokenizer.ggml.model"] == "gpt2" and meta["tokenizer.ggml.pre"] == "gpt-2"
    assert len(meta["tokenizer.ggml.tokens"]) == config.vocab_size
    assert meta["tokenizer.ggml.eos_token_id"] == tokenizer.eos_token_id == 2
    assert meta["tokenizer.ggml.bos_token_id"] == 1
    assert meta["tokenizer.ggml.padding_token_id"] == 0
    assert meta["tokenizer.ggml.add_bos_token"] is False
    assert meta["tokenizer.ggml.token_type"][:3] == [3, 3, 3]  # control tokens
    assert meta["tokenizer.chat_template"] == tokenizer.chat_template
    names = {t.name for t in reader.tensors}
    assert "output.weight" not in names  # tied head: llama.cpp reuses token_embd
    assert {"token_embd.weight", "output_norm.weight", "blk.1.ffn_down.weight"} <= names


def test_tokenizer_read_back_encodes_the_same(lora_run, tiny_model_dir, cli, tmp_path):
    from transformers import AutoTokenizer

    path = export(cli, lora_run, tmp_path / "m.gguf", "--quant", "q8_0")
    original = AutoTokenizer.from_pretrained(tiny_model_dir)
    read_back = AutoTokenizer.from_pretrained(tmp_path, gguf_file=path.name)
    for text in [*TEXTS, "  two  spaces, digits 2024 and émojis 🙂"]:
        expected = original(text, add_special_tokens=False).input_ids
        assert read_back(text, add_special_tokens=False).input_ids == expected
    assert read_back.chat_template == original.chat_template


def test_ollama_modelfile_beside_the_gguf(lora_run, cli, tmp_path):
    path = export(cli, lora_run, tmp_path / "smol.gguf", "--ollama")
    text = (tmp_path / "Modelfile").read_text()
    assert "FROM ./smol.gguf\n" in text
    assert 'TEMPLATE """{{- if .System }}<|im_start|>system' in text
    assert 'PARAMETER stop "<|im_end|>"' in text
    code, _, err = cli("export", str(lora_run), "-o", str(path), "--ollama")
    assert code == 2 and "exists; pass --overwrite" in err


def test_llama3_style_model_gets_rope_freqs_and_llama_bpe(lora_run, llama3_style_dir, tmp_path):
    """Llama 3.1 rope scaling: llama.cpp divides each rotary frequency by ``rope_freqs``; the
    values are checked against transformers' own llama3 frequencies (transformers' GGUF reader
    ignores the tensor, so llama.cpp checks the logits: test_llamacpp_reader.py)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    from tests.export.conftest import export_model

    model = AutoModelForCausalLM.from_pretrained(llama3_style_dir)
    tokenizer = AutoTokenizer.from_pretrained(llama3_style_dir)
    reader = GGUFReader(export_model(lora_run, model, tokenizer, tmp_path / "l3.gguf"))
    tensors = {t.name: np.array(t.data) for t in reader.tensors}
    rotary = type(model.model.rotary_emb)
    default = getattr(rotary, "compute_default_rope_parameters", None)  # transformers 5
    plain, _ = (default or ROPE_INIT_FUNCTIONS["default"])(model.config, device="cpu")
    scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](model.config, "cpu")
    np.testing.assert_allclose(
        tensors["rope_freqs.weight"] * scaled.numpy(), plain.numpy(), rtol=1e-6
    )
    assert tensors["rope_freqs.weight"].max() == 8.0  # the low frequencies: factor 8
    assert "output.weight" in tensors  # untied head
    assert reader.fields["tokenizer.ggml.pre"].contents() == "llama-bpe"


def test_an_exported_gguf_file_is_a_model_name(lora_run, cli, tmp_path, tiny_model_dir):
    """`--model file.gguf` reads the file with transformers' GGUF loader: the f32 export of
    a run answers as the run itself."""
    path = export(cli, lora_run, tmp_path / "model-f32.gguf", "--quant", "f32")
    prompt = ["--raw", "--prompt", "a gripping , beautifully acted", "--max-new-tokens", "6"]
    code, expected, err = cli("generate", str(lora_run), *prompt, "--precision", "fp32")
    assert code == 0, err
    code, answer, err = cli("generate", "--model", str(path), *prompt, "--precision", "fp32")
    assert code == 0, err
    assert answer == expected
    from peftctl.models.loading import load_tokenizer

    original, read_back = load_tokenizer(tiny_model_dir), load_tokenizer(str(path))
    for name in ("bos_token", "eos_token", "pad_token"):  # transformers 4.57 misreads them
        assert getattr(read_back, name) == getattr(original, name), name
    text = "a gripping , beautifully acted"
    assert read_back(text).input_ids == original(text).input_ids  # no BOS added


def test_a_file_that_is_not_gguf_is_one_line(cli, tmp_path):
    fake = tmp_path / "broken.gguf"
    fake.write_bytes(b"not a gguf file")
    code, _, err = cli("generate", "--model", str(fake), "--raw", "--prompt", "hi")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"model '{fake}' cannot be read as GGUF" in err
    other = tmp_path / "weights.bin"
    other.write_bytes(b"x")
    code, _, err = cli("generate", "--model", str(other), "--raw", "--prompt", "hi")
    assert code == 2 and "pass a model directory, a .gguf file or a hub id" in err
