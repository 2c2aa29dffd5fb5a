"""bf16 preparation: frozen linears stored in bf16, the residual stream summed in fp32."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from peftctl.methods.base import causal_lm
from peftctl.models.loading import base_dtype
from peftctl.testing import make_method, random_batch, tiny_llama, tiny_model
from peftctl.training.loss import SparseLMLoss
from peftctl.training.precision import prepare_base, tune_for_precision


def bf16_model(*, residual_fp32: bool = True) -> nn.Module:
    """The tiny model stored as ``peftctl train`` stores it in bf16, prepared for bf16
    (``residual_fp32=False``: as it was prepared before the stream was kept in fp32)."""
    model = tiny_llama(seed=0).to(base_dtype("bf16"))
    prepare = prepare_base if residual_fp32 else tune_for_precision
    prepare(model, "bf16", "cpu")
    return model


def token_losses(model: nn.Module, *, autocast: bool) -> torch.Tensor:
    """Loss of every labelled token of a fixed batch, the trainer's way."""
    method = make_method("lora", r=4, target_modules=["q_proj", "v_proj"])
    loss = SparseLMLoss(method.apply(model), method)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        picked, targets = loss.target_states(**random_batch(seed=0, batch=4, length=16))
        logits = causal_lm(model).get_output_embeddings()(picked).float()
    return nn.functional.cross_entropy(logits, targets, reduction="none")


def layer_output_dtypes(model: nn.Module) -> list[torch.dtype]:
    """dtype of the residual stream after each decoder layer, in a bf16 autocast forward."""
    seen: list[torch.dtype] = []
    for layer in causal_lm(model).get_decoder().layers:
        layer.register_forward_hook(lambda _m, _a, out: seen.append(_first(out).dtype))
    batch = random_batch(seed=0)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    return seen


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def test_bf16_sums_the_residual_stream_in_fp32_with_weights_left_in_bf16():
    model = bf16_model()
    assert layer_output_dtypes(model) == [torch.float32] * len(causal_lm(model).model.layers)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert {m.weight.dtype for m in linears} == {torch.bfloat16}


def test_without_autocast_the_prepared_bf16_model_runs_in_plain_bf16():
    """Code that runs the base model outside autocast (an adapter's initialisation from the
    model's own states, say) still works."""
    model = bf16_model()
    batch = random_batch()
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert logits.dtype == torch.bfloat16


def test_fp32_preparation_leaves_the_model_as_it_is():
    model = tiny_llama(seed=0)
    prepare_base(model, "fp32", "cpu")
    assert not causal_lm(model).get_input_embeddings()._forward_hooks


def test_bf16_token_losses_are_closer_to_fp32_than_with_a_bf16_stream():
    reference = token_losses(tiny_llama(seed=0), autocast=False)
    before = (token_losses(bf16_model(residual_fp32=False), autocast=True) - reference).abs()
    after = (token_losses(bf16_model(), autocast=True) - reference).abs()
    assert after.mean() < 0.8 * before.mean()


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_packing_check_allows_bf16_rounding_only_under_autocast(monkeypatch, precision):
    from peftctl.training.batching import TokenData
    from peftctl.training.packing import packing_mismatch

    model = bf16_model() if precision == "bf16" else tiny_llama(seed=0)
    method = make_method("lora", r=4, target_modules=["q_proj", "v_proj"])
    loss = SparseLMLoss(method.apply(model), method)
    exact = loss.target_states

    def off_by_bf16_rounding(*args, **kwargs):  # packed states 0.5% off the padded ones
        states, targets = exact(*args, **kwargs)
        return (states * 1.005 if "packed_layout" in kwargs else states), targets

    monkeypatch.setattr(loss, "target_states", off_by_bf16_rounding)
    data = TokenData(
        [[5, 6, 7, 8, 9], [5, 6, 10, 11]], [[-100, -100, 7, 8, 9], [-100, -100, 10, 11]]
    )
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        mismatch = packing_mismatch(loss, data, pad_id=0, device="cpu")
    assert (mismatch is None) == (precision == "bf16")  # the states are fp32 either way


@pytest.mark.parametrize("family", ["gpt2", "opt"])
def test_layer_norm_families_train_with_a_bf16_base(family):
    """nn.LayerNorm keeps fp32 weights beside the bf16 base: autocast runs layer norm in
    fp32, and torch refuses an fp32 input with bf16 weights (on a bf16 CPU: every run)."""
    model = tiny_model(family, seed=0).to(base_dtype("bf16"))
    prepare_base(model, "bf16", "cpu")
    batch = random_batch(seed=0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    out.logits.float().mean().backward()  # through every layer norm
    with torch.no_grad():  # and in plain bf16, outside autocast
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
