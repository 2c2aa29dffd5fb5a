"""The contract kit over BitFit, and what is specific to it."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

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

# tiny_llama: hidden 32, intermediate 64, 4 heads of 8, 2 kv heads -> k/v project to 16
PER_LAYER = 32 + 16 + 16 + 32 + 64 + 64 + 32  # q, k, v, o, gate, up, down


class TestBitFit(MethodContract):
    method_name = "bitfit"
    expected_trainable = 2 * PER_LAYER


def test_added_biases_start_at_zero_and_leave_the_output_unchanged():
    batch = random_batch()
    base = masked_logits(tiny_llama(), batch)
    model = make_method("bitfit").apply(tiny_llama())
    biases = [p for n, p in model.named_parameters() if p.requires_grad]
    assert biases and all(
        n.endswith(".bias") for n, p in model.named_parameters() if p.requires_grad
    )
    assert all(torch.count_nonzero(b) == 0 for b in biases)
    assert torch.equal(masked_logits(model, batch), base)


def test_only_biases_train_and_the_lm_head_is_never_a_target():
    model = make_method("bitfit", target_modules=["q_proj", "lm_head"]).apply(tiny_llama())
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {f"model.layers.{i}.self_attn.q_proj.bias" for i in range(2)}
    assert model.lm_head.bias is None


def test_checkpoint_holds_only_the_trained_biases(tmp_path):
    method, model = trained_method("bitfit")
    method.save(model, tmp_path / "adapter")
    assert sorted(p.name for p in (tmp_path / "adapter").iterdir()) == [
        "adapter_config.json",
        "biases.safetensors",
    ]
    saved = load_file(str(tmp_path / "adapter" / "biases.safetensors"))
    trainable = dict(method.trainable_parameters(model))
    assert saved.keys() == trainable.keys()
    assert all(t.ndim == 1 for t in saved.values()), "a weight matrix leaked into the checkpoint"
    assert sum(t.numel() for t in saved.values()) == TestBitFit.expected_trainable
    size = (tmp_path / "adapter" / "biases.safetensors").stat().st_size
    assert size < 4 * TestBitFit.expected_trainable + 8_000  # fp32 values + a small header
    meta = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert meta["method"] == "bitfit" and len(meta["added_biases"]) == 2 * 7


def test_existing_biases_train_too_and_keep_their_values():
    model = tiny_llama(attention_bias=True)  # q/k/v/o have biases, the MLP has none
    with torch.no_grad():
        model.model.layers[0].self_attn.q_proj.bias.fill_(0.5)
    method = make_method("bitfit")
    model = method.apply(model)
    assert torch.all(model.model.layers[0].self_attn.q_proj.bias == 0.5)
    assert model.model.layers[0].mlp.up_proj.bias.requires_grad
    assert method.unload(model) is None  # the base's own biases may have trained


def test_unload_removes_the_added_biases():
    batch = random_batch()
    base = masked_logits(tiny_llama(), batch)
    method, model = trained_method("bitfit")
    assert not torch.equal(masked_logits(model, batch), base)
    model = method.unload(model)
    assert not [n for n, _ in model.named_parameters() if n.endswith(".bias")]
    assert torch.equal(masked_logits(model, batch), base)


def test_merged_model_saves_and_reloads_with_transformers(tmp_path):
    from transformers import LlamaForCausalLM

    method, model = trained_method("bitfit", target_modules=["v_proj", "down_proj"])
    batch = random_batch()
    expected = masked_logits(model, batch)
    merged = method.merge(model)
    assert (merged.config.attention_bias, merged.config.mlp_bias) == (True, True)
    assert all(type(m) is nn.Linear for n, m in merged.named_modules() if n.endswith("_proj"))
    merged.save_pretrained(tmp_path / "merged")
    reloaded = LlamaForCausalLM.from_pretrained(tmp_path / "merged").eval()
    torch.testing.assert_close(masked_logits(reloaded, batch), expected, atol=1e-5, rtol=0)


def test_unknown_targets_and_foreign_adapters_are_clear_errors(tmp_path):
    with pytest.raises(PeftctlError, match=r"matches no linear layer.*q_proj"):
        make_method("bitfit", target_modules=["query"]).apply(tiny_llama())
    with pytest.raises(PeftctlError, match="target_modules is empty"):
        make_method("bitfit", target_modules=[])
    with pytest.raises(PeftctlError, match=r"lacks adapter_config\.json or biases\.safetensors"):
        make_method("bitfit").load(tiny_llama(), tmp_path)
    method, model = trained_method("bitfit")
    method.save(model, tmp_path / "adapter")
    bigger = tiny_llama(hidden_size=64, intermediate_size=128)
    with pytest.raises(PeftctlError, match="not a bias of this model's linears"):
        make_method("bitfit").load(bigger, tmp_path / "adapter")


def test_recipe_is_shipped_and_valid():
    recipe = shipped_recipe("bitfit_sst2")
    assert recipe.path.parent.name == "recipes"
    assert recipe.command == "peftctl train bitfit_sst2"
    assert recipe.config.method.name == "bitfit" and recipe.config.dataset.name == "sst2"
