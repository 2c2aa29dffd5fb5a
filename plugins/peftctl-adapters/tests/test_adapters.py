"""The contract kit over the three bottleneck adapters, and what is specific to them."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from peftctl.api import DEFAULT_ARCH, PeftctlError
from peftctl.testing import (
    MethodContract,
    make_method,
    random_batch,
    shipped_recipe,
    tiny_llama,
    trained_method,
)

METHODS = ("double_seq_bn", "seq_bn", "par_bn")
# tiny_llama has hidden size 32: reduction factor 4 -> bottleneck 8
OPTIONS = {"reduction_factor": 4}
ONE_ADAPTER = 32 * 8 + 8 + 8 * 32 + 32  # down weight + bias, up weight + bias


class TestDoubleSeqBn(MethodContract):
    method_name = "double_seq_bn"
    method_options = OPTIONS
    expected_trainable = 2 * 2 * ONE_ADAPTER  # 2 layers x (after attention, after MLP)


class TestSeqBn(MethodContract):
    method_name = "seq_bn"
    method_options = OPTIONS
    expected_trainable = 2 * ONE_ADAPTER


class TestParBn(MethodContract):
    method_name = "par_bn"
    method_options = OPTIONS
    expected_trainable = 2 * ONE_ADAPTER


@pytest.mark.parametrize("name", METHODS)
def test_cached_generation_equals_uncached(name):
    """adapters 1.3.0 drops the KV cache under transformers 4.57 unless the plugin renames it."""
    _, model = trained_method(name, **OPTIONS)
    ids = random_batch()["input_ids"][:1, :6]
    common = {"max_new_tokens": 6, "do_sample": False, "pad_token_id": 0}
    common |= {"output_scores": True, "return_dict_in_generate": True}
    with torch.no_grad():
        cached = model.generate(ids, use_cache=True, **common)
        uncached = model.generate(ids, use_cache=False, **common)
    assert cached.sequences.tolist() == uncached.sequences.tolist()
    for with_cache, without in zip(cached.scores, uncached.scores, strict=True):
        torch.testing.assert_close(with_cache, without, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", METHODS)
def test_checkpoint_holds_only_adapter_weights(name, tmp_path):
    method, model = trained_method(name, **OPTIONS)
    method.save(model, tmp_path / "adapter")
    assert sorted(p.name for p in (tmp_path / "adapter").iterdir()) == [
        "adapter.safetensors",
        "adapter_config.json",
    ]
    saved = load_file(str(tmp_path / "adapter" / "adapter.safetensors"))
    trainable = dict(method.trainable_parameters(model))
    assert saved.keys() == trainable.keys()
    assert all(".adapters.peftctl." in key for key in saved)
    assert sum(t.numel() for t in saved.values()) < sum(p.numel() for p in model.parameters()) / 10


def test_defaults_reduction_16_and_parallel_scaling_4(tmp_path):
    method = make_method("par_bn")
    model = method.apply(tiny_llama())
    method.save(model, tmp_path / "adapter")
    saved = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["config"]
    assert (saved["reduction_factor"], saved["scaling"], saved["is_parallel"]) == (16, 4.0, True)
    down = [p for n, p in model.named_parameters() if n.endswith("adapter_down.0.weight")]
    assert down and all(p.shape == (32 // 16, 32) for p in down)


def test_houlsby_adds_an_adapter_after_attention_too():
    names = [n for n, _ in make_method("double_seq_bn").apply(tiny_llama()).named_parameters()]
    assert any(".attention_adapters.adapters." in n for n in names)
    assert any(".output_adapters.adapters." in n for n in names)


def test_leave_out_skips_layers_and_rejects_unknown_ones():
    model = make_method("seq_bn", leave_out=[0]).apply(tiny_llama())
    adapted = {n.split(".")[2] for n, p in model.named_parameters() if p.requires_grad}
    assert adapted == {"1"}
    with pytest.raises(PeftctlError, match="leave_out names layers \\[5\\]"):
        make_method("seq_bn", leave_out=[5]).apply(tiny_llama())


def test_loading_another_architecture_or_no_adapter_is_a_clear_error(tmp_path):
    method, model = trained_method("par_bn", **OPTIONS)
    method.save(model, tmp_path / "adapter")
    with pytest.raises(PeftctlError, match="is_parallel=True, not a 'seq_bn' adapter"):
        make_method("seq_bn", **OPTIONS).load(tiny_llama(), tmp_path / "adapter")
    with pytest.raises(PeftctlError, match=r"has no adapter_config\.json"):
        make_method("seq_bn").load(tiny_llama(), tmp_path)


def test_merge_is_refused_with_the_reason():
    method, model = trained_method("seq_bn", **OPTIONS)
    with pytest.raises(PeftctlError, match="non-linearity"):
        method.merge(model)


@pytest.mark.parametrize("name", METHODS)
def test_recipe_is_shipped_and_valid(name):
    recipe = shipped_recipe(f"{name}_sst2")
    assert recipe.path.parent.name == "recipes"
    assert recipe.command == f"peftctl train {name}_sst2"
    assert recipe.config.method.name == name and recipe.config.dataset.name == "sst2"


def test_trainable_estimates_on_the_default_model():
    """list-methods' figures; 1,262,520 is what a seq_bn run on SmolLM2-135M trains."""

    def estimate(name, **options):
        return make_method(name, **options).config.trainable_estimate(DEFAULT_ARCH)

    assert estimate("seq_bn") == estimate("par_bn") == 1_262_520
    assert estimate("double_seq_bn") == 2 * 1_262_520
    assert estimate("seq_bn", leave_out=[0, 1]) == 28 * 1_262_520 // 30
