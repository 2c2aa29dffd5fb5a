"""Generation sees the key/value prefix: greedy ``generate`` continues as the model's full
forward pass (the training path) predicts, on left-padded prompts too."""

from __future__ import annotations

import pytest
import torch

from peftctl.api import causal_lm
from peftctl.testing import make_method, tiny_llama


def greedy_by_full_forward(method, model, ids, mask, steps: int) -> torch.Tensor:
    """``steps`` greedy tokens, each from a full forward pass over the prompt so far (with
    the prefix, or without: ``method`` None)."""
    new = []
    for _ in range(steps):
        if method is None:
            logits = model(input_ids=ids, attention_mask=mask).logits[:, -1]
        else:
            logits = causal_lm(model).lm_head(method.hidden_states(model, ids, mask)[:, -1])
        token = logits.argmax(-1, keepdim=True)
        new.append(token)
        ids, mask = torch.cat([ids, token], 1), torch.cat([mask, torch.ones_like(token)], 1)
    return torch.cat(new, 1)


@pytest.mark.parametrize("name", ["prefix_tuning", "p_tuning_v2"])
def test_generate_continues_with_the_prefix(name):
    torch.manual_seed(0)
    method = make_method(name, num_virtual_tokens=8)
    model = method.apply(tiny_llama(seed=1)).eval()
    with torch.no_grad():  # a prefix that changes what the model says
        for param in model.prompt_encoder.parameters():
            param.normal_(0, 2.0)
    ids = torch.tensor([[0, 0, 11, 12, 13, 14], [21, 22, 23, 24, 25, 26]])  # row 0 left-padded
    mask = (torch.arange(6) >= torch.tensor([[2], [0]])).long()
    alone = [(row[m.bool()][None], m[m.bool()][None]) for row, m in zip(ids, mask, strict=True)]
    with torch.no_grad():  # each prompt alone, unpadded, as in training's right-padded rows
        expected = torch.cat([greedy_by_full_forward(method, model, i, m, 3) for i, m in alone])
        got = model.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=3, do_sample=False,
            pad_token_id=0, eos_token_id=None,
        )[:, ids.shape[1] :]  # fmt: skip
        without = greedy_by_full_forward(None, model.get_base_model(), ids, mask, steps=3)
    assert got.tolist() == expected.tolist()
    assert expected.tolist() != without.tolist()  # the prefix matters here
