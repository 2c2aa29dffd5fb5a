"""The names that differ between transformers releases, both ways, whichever is installed."""

from __future__ import annotations

import pytest
import torch

from peftctl.models.transformers_compat import (
    cache_kwargs,
    enable_checkpointing,
    is_checkpointing,
    returned_cache,
)
from peftctl.testing import tiny_llama


class Before524(torch.nn.Module):
    def forward(self, input_ids=None, past_key_values=None, use_cache=None):
        return input_ids


class Since524(torch.nn.Module):
    def forward(self, input_ids=None, cache=None, use_cache=None, **kwargs):
        return input_ids


@pytest.mark.parametrize(
    ("module", "name"), [(Before524(), "past_key_values"), (Since524(), "cache")]
)
def test_the_cache_goes_under_the_name_the_forward_takes(module, name):
    assert cache_kwargs(module, "kv") == {name: "kv"}


def test_the_installed_decoder_takes_and_returns_the_cache():
    decoder = tiny_llama().get_decoder()
    ids = torch.tensor([[3, 4, 5]])
    with torch.no_grad():
        first = decoder(input_ids=ids, use_cache=True)
        cache = returned_cache(first)
        assert cache.get_seq_length() == 3
        decoder(input_ids=ids[:, :1], use_cache=True, **cache_kwargs(decoder, cache))
    assert cache.get_seq_length() == 4  # the cache was used, not a fresh one


def test_checkpointing_is_enabled_and_seen_without_deprecated_names(recwarn):
    model = tiny_llama()
    assert not is_checkpointing(model)
    enable_checkpointing(model, use_reentrant=False)
    assert is_checkpointing(model)
    assert not [w for w in recwarn if "deprecated" in str(w.message)]
