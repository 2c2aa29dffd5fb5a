"""LoRA through the method contract: apply, save, load (frozen or trainable), merge."""

from __future__ import annotations

import pytest
import torch
from peftctl_lora.config import LoraConfig
from peftctl_lora.method import LoraMethod

from peftctl.api import PeftctlError
from peftctl.testing import method_spec, tiny_llama


def test_registered_spec_points_at_the_method_and_a_light_config():
    spec = method_spec("lora")
    assert spec.load() is LoraMethod
    assert spec.config == "peftctl_lora.config:LoraConfig"


def test_only_adapter_weights_train_and_are_saved(tmp_path):
    from safetensors.torch import load_file

    method = LoraMethod(LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    model = method.apply(tiny_llama())
    names = [n for n, _ in method.trainable_parameters(model)]
    assert names and all("lora_" in n for n in names)
    assert len(names) == 2 * 2 * 2  # 2 layers x (q, v) x (A, B)
    method.save(model, tmp_path / "adapter")
    assert len(load_file(str(tmp_path / "adapter" / "adapter_model.safetensors"))) == len(names)


def test_load_for_eval_or_further_training_and_merge(tmp_path):
    method = LoraMethod(LoraConfig(init="gaussian"))
    model = method.apply(tiny_llama())
    method.save(model, tmp_path / "adapter")
    ids = torch.randint(3, 90, (2, 7))
    expected = model(input_ids=ids).logits

    frozen = method.load(tiny_llama(), tmp_path / "adapter")
    assert not any(p.requires_grad for p in frozen.parameters())
    torch.testing.assert_close(frozen(input_ids=ids).logits, expected)
    trainable = method.load(tiny_llama(), tmp_path / "adapter", trainable=True)
    assert method.trainable_parameters(trainable)

    merged = method.merge(frozen)
    assert not any("lora_" in n for n, _ in merged.named_parameters())
    torch.testing.assert_close(merged(input_ids=ids).logits, expected, rtol=1e-4, atol=1e-5)


def test_parameter_groups_skip_weight_decay_on_vectors():
    method = LoraMethod(LoraConfig())
    model = method.apply(tiny_llama())
    model.base_model.model.model.norm.weight.requires_grad_(True)  # a 1-D trainable tensor
    groups = method.parameter_groups(model, lr=1e-3, weight_decay=0.1)
    decays = {g["weight_decay"] for g in groups}
    assert decays == {0.1, 0.0}
    assert all(p.ndim < 2 for g in groups if g["weight_decay"] == 0.0 for p in g["params"])


def test_empty_target_modules_is_a_user_error():
    with pytest.raises(PeftctlError, match=r"method\.target_modules is empty"):
        LoraConfig(target_modules=[]).validate()
