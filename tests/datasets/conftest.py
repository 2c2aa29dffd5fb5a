"""Tiny in-process tokenizers (byte-level, no merges): one plain, one with a chat template."""

from __future__ import annotations

import pytest

CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant: {% endif %}"
)


def make_tokenizer(chat: bool):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>"]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {token: i for i, token in enumerate([*specials, *alphabet])}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    tokenizer.name_or_path = "tiny-chat" if chat else "tiny-plain"
    if chat:
        tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


@pytest.fixture
def plain_tokenizer():
    return make_tokenizer(chat=False)


@pytest.fixture
def chat_tokenizer():
    return make_tokenizer(chat=True)


@pytest.fixture
def offline_hub(monkeypatch):
    """The hub refuses at once (as it does on machines without network)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


@pytest.fixture
def fake_hub(monkeypatch):
    """``datasets.load_dataset`` answering from a dict ``{(hub_id, config, split): rows}``."""
    import datasets

    from peftctl import hub

    tables: dict = {}
    calls: list = []

    def load_dataset(path, name=None, *, split):
        calls.append((path, name, split))
        if (path, name, split) not in tables:
            raise FileNotFoundError(f"no {path} {name} {split}")
        return list(tables[(path, name, split)])

    monkeypatch.setattr(hub, "check_hub_reachable", lambda: None)
    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return tables, calls
