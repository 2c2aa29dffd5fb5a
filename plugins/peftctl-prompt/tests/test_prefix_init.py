"""P-tuning v2 starts from the frozen model's own keys/values, not from noise."""

from __future__ import annotations

import torch

from peftctl.api import causal_lm
from peftctl.testing import make_method, tiny_llama


def _prefix_and_tail_logits(init: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of an input after the fresh prefix, and of the base model after the tokens the
    prefix was computed from."""
    method = make_method("p_tuning_v2", num_virtual_tokens=5, init=init)
    model = method.apply(tiny_llama()).eval()
    vocab = tiny_llama().config.vocab_size
    ids = torch.randint(vocab, (2, 7), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        head = causal_lm(model).get_output_embeddings()
        got = head(method.hidden_states(model, ids, mask))
        drawn = torch.randint(vocab, (1, 5), generator=torch.Generator().manual_seed(0))
        both = torch.cat([drawn.expand(2, -1), ids], dim=1)
        expected = causal_lm(model)(input_ids=both).logits[:, 5:]
    return got, expected


def test_the_model_init_acts_as_if_real_tokens_preceded_the_input():
    got, expected = _prefix_and_tail_logits("model")
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_the_random_init_does_not():
    got, expected = _prefix_and_tail_logits("random")
    assert (got - expected).abs().max() > 1e-2
