"""The Modelfile's TEMPLATE is written only where ChatML renders as the model's Jinja template
does; a default system prompt becomes SYSTEM; other templates get stop tokens only."""

from __future__ import annotations

import pytest

from peftctl.export.ollama import PROBES, modelfile, render_chatml

SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are SmolLM<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@pytest.fixture
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_chatml_template_is_written_and_renders_like_jinja(tokenizer):
    text = modelfile("m.gguf", tokenizer)
    assert text.splitlines()[1] == "FROM ./m.gguf"
    assert 'TEMPLATE """{{- if .System }}' in text and "SYSTEM" not in text
    assert 'PARAMETER stop "<|im_end|>"\nPARAMETER stop "<|im_start|>"\n' in text
    for messages in PROBES:
        system = next((m["content"] for m in messages if m["role"] == "system"), None)
        jinja = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert render_chatml(system, messages) == jinja


def test_default_system_prompt_becomes_system(tokenizer):
    tokenizer.chat_template = SMOLLM2_TEMPLATE
    assert 'SYSTEM """You are SmolLM"""' in modelfile("m.gguf", tokenizer)


def test_other_templates_get_no_template_line(tokenizer):
    tokenizer.chat_template = "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"
    text = modelfile("m.gguf", tokenizer)
    assert "TEMPLATE" not in text.replace("no TEMPLATE", "")
    assert text.endswith('PARAMETER stop "<|im_end|>"\n')  # the eos token
