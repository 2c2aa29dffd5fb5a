"""Loading by name: local directories, hub ids, the default alias, and the errors users see."""

from __future__ import annotations

import json

import huggingface_hub.constants
import pytest
import torch
import transformers.utils.hub
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from peftctl.errors import PeftctlError
from peftctl.models import default_model, load_model, load_tokenizer

WORDS = ["<unk>", "<s>", "</s>", "hello", "world"]


@pytest.fixture
def tiny_model_dir(tmp_path):
    """A tiny Llama with a word-level tokenizer that has no pad token, saved like a hub repo."""
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    config = LlamaConfig(
        vocab_size=len(WORDS),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    return tmp_path


def test_local_directory_loads_in_the_requested_dtype(tiny_model_dir):
    model = load_model(str(tiny_model_dir))
    assert isinstance(model, LlamaForCausalLM) and model.dtype == torch.float32
    assert not model.training
    assert load_model(str(tiny_model_dir), dtype=torch.bfloat16).dtype == torch.bfloat16


def test_tokenizer_gets_a_pad_token_from_its_own_vocabulary(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    assert tokenizer.pad_token == "<unk>" and tokenizer.pad_token_id == 0
    assert len(tokenizer) == len(WORDS)  # nothing added, so embeddings never resize


def test_default_alias_loads_from_the_converted_cache(monkeypatch, tiny_model_dir):
    monkeypatch.setattr(default_model, "default_model_dir", lambda: tiny_model_dir)
    assert load_model("smollm2-135m-instruct").config.vocab_size == len(WORDS)
    assert load_tokenizer("smollm2-135m-instruct").convert_tokens_to_ids("world") == 4


def test_unreachable_name_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # read at import: patch the parsed flags too
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(transformers.utils.hub, "_is_offline_mode", True, raising=False)  # 4.57
    for load in (load_tokenizer, load_model):
        with pytest.raises(PeftctlError) as caught:
            load("nobody/no-such-model-xyz")
        message = str(caught.value)
        assert "'nobody/no-such-model-xyz'" in message and "hub is unreachable" in message
        assert "check the path" in message and "\n" not in message


def test_directory_that_is_not_a_model_is_a_one_line_error(tmp_path):
    with pytest.raises(PeftctlError, match="cannot be loaded") as caught:
        load_model(str(tmp_path))
    assert "\n" not in str(caught.value)


def test_file_instead_of_directory_is_an_error(tmp_path):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"weights")
    with pytest.raises(PeftctlError, match=r"is a file; pass a model directory, a \.gguf file"):
        load_model(str(weights))
    truncated = tmp_path / "model.gguf"
    truncated.write_bytes(b"GGUF")
    with pytest.raises(PeftctlError, match="cannot be read as GGUF"):
        load_model(str(truncated))


def test_remote_code_runs_only_when_asked(tmp_path):
    auto_map = {"AutoConfig": "custom.Config", "AutoModelForCausalLM": "custom.Model"}
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "x", "auto_map": auto_map}))
    (tmp_path / "custom.py").write_text("raise SystemExit('remote code ran')\n")
    with pytest.raises(PeftctlError, match="needs trust_remote_code"):
        load_model(str(tmp_path))
    with pytest.raises(SystemExit, match="remote code ran"):
        load_model(str(tmp_path), trust_remote_code=True)
