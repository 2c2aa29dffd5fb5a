"""Batched generation and rank scoring agree with one-example-at-a-time reference code."""

from __future__ import annotations

import pytest
import torch

from peftctl.evaluation.generation import generate, left_pad, length_sorted_batches
from peftctl.evaluation.ranking import rank
from peftctl.testing import tiny_llama

VOCAB = 64
EOS, PAD = 2, 0


@pytest.fixture(scope="module")
def tiny_model() -> torch.nn.Module:
    return tiny_llama(vocab_size=VOCAB, max_position_embeddings=128)


PROMPTS = [[5, 6, 7, 8, 9, 10], [11, 12], [13, 14, 15, 16], [17], [18, 19, 20]]
CANDIDATES = [[30, EOS], [31, 32, EOS], [33]]


def reference_greedy(model, prompt: list[int], steps: int) -> list[int]:
    ids = torch.tensor([prompt])
    out: list[int] = []
    for _ in range(steps):
        with torch.no_grad():
            nxt = int(model(input_ids=ids).logits[0, -1].argmax())
        if nxt == EOS:
            break
        out.append(nxt)
        ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
    return out


def reference_score(model, prompt: list[int], cand: list[int]) -> float:
    ids = torch.tensor([prompt + cand])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
    return sum(float(logp[len(prompt) - 1 + i, tok]) for i, tok in enumerate(cand))


def test_left_pad_and_batches():
    ids, mask = left_pad([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert length_sorted_batches([1, 5, 3, 4], 2) == [[1, 3], [2, 0]]


def test_batched_generation_matches_unbatched_greedy(tiny_model):
    got = generate(
        tiny_model, PROMPTS, max_new_tokens=6, eos_token_id=EOS, pad_token_id=PAD, batch_size=3
    )
    want = [reference_greedy(tiny_model, p, 6) for p in PROMPTS]
    assert got == want


def test_generation_stops_at_eos(tiny_model):
    # make EOS the most likely token everywhere: every continuation is empty
    bias = torch.zeros(tiny_model.config.vocab_size)
    bias[EOS] = 1e4
    tiny_model.lm_head.bias = torch.nn.Parameter(bias)
    try:
        got = generate(tiny_model, PROMPTS, max_new_tokens=8, eos_token_id=EOS, pad_token_id=PAD)
    finally:
        tiny_model.lm_head.bias = None
    assert got == [[] for _ in PROMPTS]


def full_forward_states(model):
    """A ``hidden_states`` callable that runs the whole sequence (no shared prompt cache)."""
    return lambda ids, mask: model.model(input_ids=ids, attention_mask=mask).last_hidden_state


def test_rank_scores_match_reference_in_both_modes(tiny_model):
    want = [[reference_score(tiny_model, p, c) for c in CANDIDATES] for p in PROMPTS]
    for states in (None, full_forward_states(tiny_model)):
        got = rank(
            tiny_model, PROMPTS, CANDIDATES, pad_token_id=PAD, batch_size=2, hidden_states=states
        )
        assert torch.allclose(torch.tensor(got), torch.tensor(want), atol=1e-4), states


def test_rank_picks_the_higher_likelihood_label(tiny_model):
    scores = rank(tiny_model, PROMPTS, CANDIDATES, pad_token_id=PAD)
    for prompt, row in zip(PROMPTS, scores, strict=True):
        best = max(
            range(len(CANDIDATES)), key=lambda k: reference_score(tiny_model, prompt, CANDIDATES[k])
        )
        assert row.index(max(row)) == best


def test_length_normalisation_divides_by_candidate_length(tiny_model):
    raw = rank(tiny_model, PROMPTS[:1], CANDIDATES, pad_token_id=PAD)[0]
    norm = rank(tiny_model, PROMPTS[:1], CANDIDATES, pad_token_id=PAD, length_normalise=True)[0]
    assert norm == pytest.approx([r / len(c) for r, c in zip(raw, CANDIDATES, strict=True)])
