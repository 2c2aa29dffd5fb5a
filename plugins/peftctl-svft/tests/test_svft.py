"""The contract kit over SVFT's four patterns, and what is specific to SVFT."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
import torch
from peftctl_svft.layer import SvftLinear, banded, pattern
from peftctl_svft.svd import decompose, singular_vectors
from safetensors.torch import load_file
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from peftctl.api import PeftctlError
from peftctl.testing import (
    MethodContract,
    make_method,
    masked_logits,
    random_batch,
    shipped_recipe,
    tiny_llama,
    trained_method,
)

# tiny_llama: hidden 32, MLP 64, k/v project to 16 -> full ranks q 32, k 16, v 16, o 32,
# gate 32, up 32, down 32 (min(out, in)) = 192 per layer, 2 layers
FULL_RANKS = (32, 16, 16, 32, 32, 32, 32)


def band_size(rank: int, d: int) -> int:  # counted by brute force
    return sum(abs(i - j) <= d for i in range(rank) for j in range(rank))


class TestSvftPlain(MethodContract):
    method_name = "svft"
    expected_trainable = 2 * sum(FULL_RANKS)


class TestSvftBanded(MethodContract):
    method_name = "svft"
    method_options: ClassVar[dict[str, Any]] = {"pattern": "banded", "off_diag": 2}
    expected_trainable = 2 * sum(band_size(r, 2) for r in FULL_RANKS)


class TestSvftRandom(MethodContract):
    method_name = "svft"
    method_options: ClassVar[dict[str, Any]] = {"pattern": "random", "off_diag": 1, "seed": 3}
    expected_trainable = 2 * 3 * sum(FULL_RANKS)


class TestSvftTopK(MethodContract):
    method_name = "svft"
    method_options: ClassVar[dict[str, Any]] = {"pattern": "top_k", "off_diag": 1, "rank": 8}
    expected_trainable = 2 * 7 * band_size(8, 1)


class TestSvftStoredVectors(MethodContract):
    method_name = "svft"
    method_options: ClassVar[dict[str, Any]] = {
        "pattern": "banded",
        "off_diag": 1,
        "store_singular_vectors": True,
    }


def layer(model: nn.Module, name: str = "q_proj") -> SvftLinear:
    found = getattr(model.model.layers[0].self_attn, name, None)
    return found if found is not None else getattr(model.model.layers[0].mlp, name)


@pytest.mark.parametrize("pattern_name", ["plain", "banded", "random", "top_k"])
def test_output_is_unchanged_at_initialisation(pattern_name):
    batch = random_batch()
    model = make_method("svft", pattern=pattern_name).apply(tiny_llama())
    assert torch.equal(masked_logits(model, batch), masked_logits(tiny_llama(), batch))


def test_u_and_v_are_the_weights_singular_vectors():
    base = tiny_llama().model.layers[0].mlp.up_proj.weight  # 64 x 32
    u, v, s = singular_vectors(base, rank=0)
    assert (u.shape, v.shape, s.shape) == ((64, 32), (32, 32), (32,))
    torch.testing.assert_close(u @ torch.diag(s.float()) @ v.T, base, atol=1e-5, rtol=0)
    torch.testing.assert_close(u.T @ u, torch.eye(32), atol=1e-5, rtol=0)
    assert torch.all(u.abs().argmax(dim=0) == u.argmax(dim=0)), "signs are not canonical"
    u8, v8, s8 = singular_vectors(base, rank=8)
    assert torch.equal(u8, u[:, :8]) and torch.equal(v8, v[:, :8]) and torch.equal(s8, s[:8])
    again = decompose({"a": base, "b": base.clone()}, rank=0)
    assert all(torch.equal(again[k][0], u) and torch.equal(again[k][1], v) for k in "ab")


@pytest.mark.parametrize("pattern_name", ["plain", "banded", "random", "top_k"])
def test_forward_equals_the_dense_update(pattern_name):
    _, model = trained_method("svft", pattern=pattern_name, off_diag=2)
    target = layer(model, "down_proj")
    assert torch.count_nonzero(target.m) > 0
    x = torch.randn(3, 5, target.base.in_features)
    dense = target.base.weight.double() + target.delta_weight()
    with torch.no_grad():
        torch.testing.assert_close(target(x).double(), x.double() @ dense.T, atol=1e-5, rtol=0)


def test_forward_does_not_build_the_dense_update():
    """For one token, a dense U M Vᵀ (out x r x r + out x r x in multiply-adds) costs far
    more than projecting x: the forward's FLOPs stay within the projection's budget."""
    method = make_method("svft", pattern="banded", off_diag=2)
    model = method.apply(tiny_llama())
    target = layer(model, "up_proj")  # 64 x 32, rank 32
    out_f, in_f, r = target.base.out_features, target.base.in_features, target.rank
    x = torch.randn(1, in_f)
    with FlopCounterMode(display=False) as counter:
        target(x)
    projection = 2 * (out_f * in_f + in_f * r + r * out_f)  # base, x @ V, (M z) @ Uᵀ
    assert counter.get_total_flops() <= projection
    assert projection < 2 * out_f * r * in_f  # what rebuilding U M Vᵀ alone would cost


def test_patterns_have_the_documented_shapes():
    u, v, s = singular_vectors(torch.randn(6, 6, dtype=torch.float64), rank=0)
    rows, cols = banded(6, 1)
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == sorted(
        (i, j) for i in range(6) for j in range(6) if abs(i - j) <= 1
    )
    kwargs = {"off_diag": 1, "seed": 0, "layer": "x"}
    rows, cols = pattern("random", u, v, s, **kwargs)
    assert torch.equal(torch.bincount(rows), torch.full((6,), 3))
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == 18  # no duplicates
    assert torch.equal(cols, pattern("random", u, v, s, **kwargs)[1])  # seeded
    assert not torch.equal(cols, pattern("random", u, v, s, **{**kwargs, "seed": 1})[1])
    rows, cols = pattern("top_k", u, v, s, **kwargs)
    alignment = (u.T @ v).abs()
    assert rows.numel() == band_size(6, 1)
    assert alignment[rows, cols].min() >= alignment.flatten().sort().values[-rows.numel()]


def test_checkpoint_holds_only_m_and_its_pattern(tmp_path):
    method, model = trained_method("svft", pattern="random", off_diag=1)
    method.save(model, tmp_path / "adapter")
    saved = load_file(str(tmp_path / "adapter" / "svft.safetensors"))
    trainable = dict(method.trainable_parameters(model))
    values = {k: t for k, t in saved.items() if k.endswith(".m")}
    assert values.keys() == trainable.keys()
    assert all(t.ndim == 1 for t in saved.values()), "a matrix leaked into the checkpoint"
    assert {t.dtype for k, t in saved.items() if k not in values} == {torch.int16}
    assert len(saved) == 3 * len(values)  # m, rows, cols per layer
    meta = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert meta["options"]["pattern"] == "random" and len(meta["layers"]) == 14
    method, model = trained_method(
        "svft", pattern="banded", off_diag=1
    )  # derived pattern: no indices
    method.save(model, tmp_path / "banded")
    assert all(k.endswith(".m") for k in load_file(str(tmp_path / "banded" / "svft.safetensors")))


def test_loading_uses_the_adapters_own_options(tmp_path):
    method, model = trained_method("svft", pattern="top_k", off_diag=1, rank=8)
    batch = random_batch()
    expected = masked_logits(model, batch)
    method.save(model, tmp_path / "adapter")
    loaded = make_method("svft").load(
        tiny_llama(), tmp_path / "adapter"
    )  # a plain-pattern instance
    assert layer(loaded).rank == 8
    torch.testing.assert_close(masked_logits(loaded, batch), expected, atol=1e-5, rtol=0)


def test_unload_restores_the_base_model():
    batch = random_batch()
    method, model = trained_method("svft", pattern="banded")
    assert not torch.equal(masked_logits(model, batch), masked_logits(tiny_llama(), batch))
    base = method.unload(model)
    assert not any(isinstance(m, SvftLinear) for m in base.modules())
    assert torch.equal(masked_logits(base, batch), masked_logits(tiny_llama(), batch))


def test_merge_leaves_plain_linears_and_the_base_state_dict_keys():
    method, model = trained_method("svft", pattern="random")
    batch = random_batch()
    expected = masked_logits(model, batch)
    merged = method.merge(model)
    assert all(type(m) is nn.Linear for n, m in merged.named_modules() if n.endswith("_proj"))
    assert merged.state_dict().keys() == tiny_llama().state_dict().keys()
    torch.testing.assert_close(masked_logits(merged, batch), expected, atol=1e-4, rtol=0)


def test_loading_onto_another_model_is_a_clear_error(tmp_path):
    method, model = trained_method("svft")
    method.save(model, tmp_path / "adapter")
    with pytest.raises(PeftctlError, match="differs from the one the adapter was trained on"):
        make_method("svft").load(tiny_llama(seed=1), tmp_path / "adapter")
    with pytest.raises(PeftctlError, match=r"lacks adapter_config\.json or svft\.safetensors"):
        make_method("svft").load(tiny_llama(), tmp_path)
    with pytest.raises(PeftctlError, match=r"matches no linear layer.*q_proj"):
        make_method("svft", target_modules=["query"]).apply(tiny_llama())
    with pytest.raises(PeftctlError, match="pattern=diagonal is not one of"):
        make_method("svft", pattern="diagonal")


def test_recipe_is_shipped_and_valid():
    recipe = shipped_recipe("svft_sst2")
    assert recipe.path.parent.name == "recipes"
    assert recipe.command == "peftctl train svft_sst2"
    assert recipe.config.method.name == "svft" and recipe.config.method.pattern == "plain"
