"""Tokenisation: loss only on the response, exact prompt boundary, truncation, the disk cache."""

from __future__ import annotations

import time

import pytest

from peftctl.datasets import tokenize
from peftctl.datasets.loading import Example
from peftctl.datasets.tokenize import IGNORE_INDEX, encode_prompt, fit, tokenize_examples
from tests.staged import needs_staged

EXAMPLES = [
    Example("0", "Classify: good film", "positive", 1),
    Example("1", "Classify: bad", "negative", 0),
]


@pytest.mark.parametrize("which", ["plain_tokenizer", "chat_tokenizer"])
def test_labels_mask_exactly_the_prompt(which, request):
    tokenizer = request.getfixturevalue(which)
    tokens = tokenize_examples(EXAMPLES, tokenizer, 512)
    for ex, ids, labels in zip(EXAMPLES, tokens.input_ids, tokens.labels, strict=True):
        prompt = encode_prompt(tokenizer, ex.prompt)
        assert ids[: len(prompt)] == prompt
        assert labels[: len(prompt)] == [IGNORE_INDEX] * len(prompt)
        assert labels[len(prompt) :] == ids[len(prompt) :]
        assert ids[-1] == tokenizer.eos_token_id
        assert tokenizer.decode(ids[len(prompt) : -1]) == ex.target
    assert tokens.n_truncated == 0


def test_chat_prompt_is_the_templates_generation_prompt(chat_tokenizer):
    text = chat_tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False
    )
    assert text == "<s>user: hi\n<s>assistant: "
    expected = chat_tokenizer(text, add_special_tokens=False).input_ids
    assert encode_prompt(chat_tokenizer, "hi") == expected


def test_plain_prompt_ends_with_a_newline(plain_tokenizer):
    assert plain_tokenizer.decode(encode_prompt(plain_tokenizer, "hi")) == "hi\n"


def test_truncation_keeps_the_response_and_the_end_of_the_prompt():
    prompt, response = list(range(100)), [500, 501, 2]
    kept_prompt, kept_response, cut = fit(prompt, response, 20)
    assert cut and kept_response == response and kept_prompt == prompt[-17:]
    long_response = list(range(1000, 1050))
    kept_prompt, kept_response, _ = fit(prompt, long_response, 20)
    assert kept_prompt == prompt[-10:] and kept_response == long_response[:10]
    short_prompt = [1, 2]
    assert fit(short_prompt, long_response, 20)[:2] == (short_prompt, long_response[:18])
    assert fit(prompt[:5], response, 20) == (prompt[:5], response, False)


def test_truncations_are_counted(plain_tokenizer):
    long = Example("2", "x " * 200, "negative", 0)
    tokens = tokenize_examples([*EXAMPLES, long], plain_tokenizer, 64)
    assert tokens.n_truncated == 1
    assert max(map(len, tokens.input_ids)) == 64
    assert tokens.input_ids[2][-1] == plain_tokenizer.eos_token_id


def test_second_call_reads_the_cache_without_tokenising(plain_tokenizer, tmp_path, monkeypatch):
    first = tokenize_examples(EXAMPLES, plain_tokenizer, 64, cache_dir=tmp_path)
    assert not first.from_cache and len(list(tmp_path.iterdir())) == 1

    def no_tokenising(*args, **kwargs):
        raise AssertionError("the tokenizer was called on a cache hit")

    monkeypatch.setattr(tokenize, "_batch_encode", no_tokenising)
    second = tokenize_examples(EXAMPLES, plain_tokenizer, 64, cache_dir=tmp_path)
    assert second.from_cache
    assert (second.input_ids, second.labels, second.n_truncated) == (
        first.input_ids,
        first.labels,
        first.n_truncated,
    )


def test_cache_key_follows_settings_examples_and_tokenizer(plain_tokenizer, chat_tokenizer):
    key = tokenize.cache_key(EXAMPLES, plain_tokenizer, 64)
    assert key == tokenize.cache_key(list(EXAMPLES), plain_tokenizer, 64)
    assert key != tokenize.cache_key(EXAMPLES, plain_tokenizer, 65)
    assert key != tokenize.cache_key(EXAMPLES[:1], plain_tokenizer, 64)
    assert key != tokenize.cache_key(EXAMPLES, chat_tokenizer, 64)


def test_a_corrupt_cache_file_is_rebuilt(plain_tokenizer, tmp_path):
    tokenize_examples(EXAMPLES, plain_tokenizer, 64, cache_dir=tmp_path)
    (cache_file,) = tmp_path.iterdir()
    cache_file.write_bytes(cache_file.read_bytes()[:-7])
    again = tokenize_examples(EXAMPLES, plain_tokenizer, 64, cache_dir=tmp_path)
    assert not again.from_cache and len(again.input_ids) == 2


@needs_staged("sst2")
@pytest.mark.slow
def test_sst2_train_with_the_default_tokenizer(tmp_path):
    from peftctl.datasets.config import DatasetConfig
    from peftctl.datasets.loading import load_split
    from peftctl.models.loading import load_tokenizer

    tokenizer = load_tokenizer("smollm2-135m-instruct")
    examples = load_split(DatasetConfig(name="sst2"), "train")
    start = time.perf_counter()
    cold = tokenize_examples(examples, tokenizer, 1024, cache_dir=tmp_path)
    cold_s = time.perf_counter() - start
    start = time.perf_counter()
    warm = tokenize_examples(examples, tokenizer, 1024, cache_dir=tmp_path)
    warm_s = time.perf_counter() - start
    print(f"sst2 train {len(examples)} rows: cold {cold_s:.2f}s, cached {warm_s:.2f}s")
    assert warm.from_cache and warm.input_ids == cold.input_ids
    assert warm_s < cold_s
    assert tokenizer.decode(cold.input_ids[0]).endswith("<|im_start|>assistant\nnegative<|im_end|>")
