"""PSCP: the formula against a worked example, and the measured FLOPs/memory/time."""

from __future__ import annotations

import pytest

from peftctl.errors import PeftctlError
from peftctl.evaluation.pscp import (
    InferenceCost,
    PSCPConstants,
    _sampled_rss_delta,
    count_flops,
    measure_inference_cost,
    model_bytes,
    peak_rss_delta,
    pscp,
    pscp_metric,
)

HIDDEN, INTER, LAYERS, HEADS, KV_HEADS, VOCAB = 32, 64, 2, 4, 2, 128


def test_worked_example():
    # P = 0.9; 5e6 params: 1 + 5e6/5e8 = 1.01; 1e12 FLOPs: 1 + 1e12/1e13 = 1.1;
    # 4.7 GB: 1 + 4.7e9/94e9 = 1.05.  0.9 / (1.01 * 1.1 * 1.05) = 0.9 / 1.16655 = 0.771506...
    score = pscp(0.9, trainable_params=5e6, flops=1e12, memory_bytes=4.7e9)
    assert score == pytest.approx(0.9 / 1.16655, rel=1e-12)
    assert round(score, 6) == 0.771506
    # beta = 2 squares every factor: 0.9 / 1.16655**2 = 0.661357...
    beta2 = PSCPConstants(beta_params=2, beta_flops=2, beta_memory=2)
    score2 = pscp(0.9, trainable_params=5e6, flops=1e12, memory_bytes=4.7e9, constants=beta2)
    assert round(score2, 6) == 0.661357


def test_constants_are_configurable():
    constants = PSCPConstants(c_params=1e6, c_flops=1e12, c_memory_bytes=1e9, beta_memory=0)
    # 1 + 1e6/1e6 = 2; 1 + 1e12/1e12 = 2; memory ignored (beta 0) -> 1 / 4
    assert (
        pscp(1.0, trainable_params=1e6, flops=1e12, memory_bytes=5e9, constants=constants) == 0.25
    )


def test_zero_costs_leave_the_score_and_negative_scores_clip():
    assert pscp(0.7, trainable_params=0, flops=0, memory_bytes=0) == 0.7
    assert pscp(-0.2, trainable_params=0, flops=0, memory_bytes=0) == 0.0
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        pscp(87.5, trainable_params=0, flops=0, memory_bytes=0)


def test_bad_constants_are_user_errors():
    with pytest.raises(PeftctlError, match="flops_mode"):
        PSCPConstants(flops_mode="relative")
    with pytest.raises(PeftctlError, match="> 0"):
        PSCPConstants(c_flops=0)


def test_minus_base_flops():
    cost = InferenceCost(flops=3 * 10**12, peak_memory_bytes=0, wall_time_s=0)
    base = InferenceCost(flops=2 * 10**12, peak_memory_bytes=0, wall_time_s=0)
    minus = PSCPConstants(flops_mode="minus_base")
    kwargs = {"primary": 1.0, "trainable_params": 0, "inference_cost": cost}
    assert pscp_metric([], [], **kwargs) == pytest.approx(1 / 1.3)
    assert pscp_metric(
        [], [], **kwargs, base_inference_cost=base, pscp_constants=minus
    ) == pytest.approx(1 / 1.1)
    with pytest.raises(PeftctlError, match="base model"):
        pscp_metric([], [], **kwargs, pscp_constants=minus)


# --- measurement on a tiny Llama ------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_llama():
    from peftctl.testing import tiny_llama as build

    return build(
        vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTER, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, num_key_value_heads=KV_HEADS,
    )  # fmt: skip


def linear_params() -> int:
    head_dim = HIDDEN // HEADS
    attention = 2 * HIDDEN * HIDDEN + 2 * HIDDEN * KV_HEADS * head_dim  # q, o, k, v
    mlp = 3 * HIDDEN * INTER
    return LAYERS * (attention + mlp) + HIDDEN * VOCAB  # + lm_head


def test_flops_of_a_512_token_pass(tiny_llama):
    cost = measure_inference_cost(tiny_llama)
    tokens = 512
    matmuls = 2 * linear_params() * tokens  # one multiply-add per weight per token
    attention = LAYERS * 2 * (2 * tokens * tokens * HIDDEN)  # QK^T and AV, no causal saving
    # the band leaves 1 % for small matmuls (rotary frequencies)
    assert matmuls + attention <= cost.flops <= 1.01 * (matmuls + attention)
    assert cost.wall_time_s > 0
    assert cost.peak_memory_bytes >= model_bytes(tiny_llama)
    assert "RSS" in cost.memory_source


def test_flops_are_about_two_per_param_per_token_for_short_inputs(tiny_llama):
    tokens = 16  # attention is negligible here
    cost = measure_inference_cost(tiny_llama, seq_len=tokens, batch=2)
    assert 1.0 <= cost.flops / (2 * linear_params() * 2 * tokens) <= 1.1


def test_attention_is_counted_alike_by_sdpa_and_eager(tiny_llama):
    import torch

    ids = torch.zeros((1, 64), dtype=torch.long)
    counts = {}
    for implementation in ("sdpa", "eager"):
        tiny_llama.config._attn_implementation = implementation
        with torch.inference_mode():
            counts[implementation] = count_flops(lambda: tiny_llama(input_ids=ids, use_cache=False))
    tiny_llama.config._attn_implementation = "sdpa"
    assert counts["sdpa"] == counts["eager"]


def test_adapter_flops_are_counted(tiny_llama):
    import copy

    from peft import LoraConfig, get_peft_model

    rank, tokens = 4, 128
    lora = get_peft_model(
        copy.deepcopy(tiny_llama), LoraConfig(r=rank, target_modules=["q_proj", "v_proj"])
    )
    head_dim = HIDDEN // HEADS
    lora_params = LAYERS * rank * ((HIDDEN + HIDDEN) + (HIDDEN + KV_HEADS * head_dim))
    base = measure_inference_cost(tiny_llama, seq_len=tokens).flops
    adapted = measure_inference_cost(lora, seq_len=tokens).flops
    assert adapted - base == 2 * lora_params * tokens


@pytest.mark.parametrize("measure", [peak_rss_delta, _sampled_rss_delta])
def test_peak_rss_delta_sees_a_short_lived_allocation(measure):
    import time

    import numpy as np

    def allocate_and_free():
        block = np.ones(64 * 2**20, dtype=np.uint8)  # 64 MiB, touched, freed 20 ms later
        time.sleep(0.02)  # the sampler needs the GIL, as it gets during torch kernels
        return int(block[-1])

    delta, how = measure(allocate_and_free)
    assert delta >= 60 * 2**20, how
