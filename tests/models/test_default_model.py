"""The default model: its tokenizer fix (on a mimic of the broken GGUF conversion, then on the
real model), its config ids, the conversion cache, and generation stopping at ``<|im_end|>``."""

from __future__ import annotations

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from peftctl.facts.names import DEFAULT_MODEL
from peftctl.models import default_model, load_model, load_tokenizer

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def broken_gguf_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer set up the way transformers converts SmolLM2's GGUF."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {token: i for i, token in enumerate(SPECIALS + sorted(alphabet) + ["Ġh", "Ġhi"])}
    backend = Tokenizer(
        models.BPE(vocab, [("Ġ", "h"), ("Ġh", "i")], unk_token=SPECIALS[0], byte_fallback=True)
    )
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.add_special_tokens(SPECIALS)
    backend.post_processor = processors.TemplateProcessing(
        single="<|im_start|> $A", special_tokens=[("<|im_start|>", 1)]
    )
    backend.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.ByteLevel()])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<|im_start|>",
        unk_token="<|endoftext|>",
        chat_template=TEMPLATE,
    )


def test_mimic_shows_the_conversion_bug():
    broken = broken_gguf_tokenizer()
    assert broken.eos_token_id == 1 and broken.pad_token_id is None
    assert broken(" hi").input_ids == [1, len(SPECIALS) + 256 + 1]


def test_fixed_tokenizer_has_smollm2_special_tokens():
    broken = broken_gguf_tokenizer()
    fixed = default_model.fix_tokenizer(broken)
    assert (fixed.eos_token, fixed.eos_token_id) == ("<|im_end|>", 2)
    assert (fixed.bos_token_id, fixed.unk_token_id) == (1, 0)
    assert (fixed.pad_token, fixed.pad_token_id) == ("<|endoftext|>", 0)
    assert len(fixed) == len(broken)  # no token added: embeddings keep their size
    assert fixed(" hi").input_ids == broken(" hi").input_ids[1:]  # same ids, no BOS
    assert fixed.decode(fixed(" hi!\n").input_ids) == " hi!\n"
    assert fixed.chat_template == TEMPLATE


def test_fixed_tokenizer_survives_save_and_reload(tmp_path):
    default_model.fix_tokenizer(broken_gguf_tokenizer()).save_pretrained(tmp_path)
    reloaded = load_tokenizer(str(tmp_path))
    assert (reloaded.eos_token_id, reloaded.pad_token_id) == (2, 0)
    assert reloaded(" hi").input_ids == [len(SPECIALS) + 256 + 1]


def test_model_and_generation_config_take_the_tokenizer_ids():
    config = LlamaConfig(
        vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=4, num_key_value_heads=2, bos_token_id=1, eos_token_id=1,
        pad_token_id=2,
    )  # fmt: skip
    model = LlamaForCausalLM(config)
    default_model.fix_special_token_ids(model, default_model.fix_tokenizer(broken_gguf_tokenizer()))
    for source in (model.config, model.generation_config):
        assert (source.bos_token_id, source.eos_token_id, source.pad_token_id) == (1, 2, 0)


# --- the real default model (converted once into the user's cache, then read from it) ---


@pytest.fixture(scope="module")
def real_tokenizer():
    return load_tokenizer(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def real_model():
    return load_model(DEFAULT_MODEL)


@pytest.mark.slow
def test_real_tokenizer_ids(real_tokenizer):
    tok = real_tokenizer
    assert (tok.eos_token, tok.eos_token_id, tok.bos_token_id) == ("<|im_end|>", 2, 1)
    assert tok.pad_token_id == 0 and tok.convert_ids_to_tokens(0) == "<|endoftext|>"
    assert len(tok) == 49152
    assert tok("Hello world").input_ids == [19556, 905]  # no BOS, byte-level BPE
    assert tok.decode(tok("  two  spaces\n12").input_ids) == "  two  spaces\n12"
    prompt = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False)
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("Hi<|im_end|>\n")


@pytest.mark.slow
def test_real_model_config_stops_at_im_end(real_model):
    assert real_model.config.eos_token_id == real_model.generation_config.eos_token_id == 2
    assert real_model.config.pad_token_id == 0
    assert real_model.dtype == torch.float32


@pytest.mark.slow
def test_chat_prompt_generation_stops_at_im_end(real_model, real_tokenizer):
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    prompt = real_tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_dict=False
    )
    assert prompt[-4:] == real_tokenizer("<|im_start|>assistant\n").input_ids
    limit = 64
    output = real_model.generate(torch.tensor([prompt]), max_new_tokens=limit, do_sample=False)
    new = output[0, len(prompt) :].tolist()
    assert new[-1] == 2 and len(new) < limit // 2
    assert "Paris" in real_tokenizer.decode(new, skip_special_tokens=True)


@pytest.mark.slow
def test_later_loads_read_the_cache(real_model, monkeypatch):
    def no_conversion(*args):
        raise AssertionError("converted again instead of reading the cache")

    monkeypatch.setattr(default_model, "convert_gguf", no_conversion)
    cached = default_model.default_model_dir()
    assert (cached / "model.safetensors").is_file() and (cached / "tokenizer.json").is_file()
