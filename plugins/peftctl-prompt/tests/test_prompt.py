"""The contract kit over the prompt-learning methods, the checkpointing refusal of the
key/value prefix methods, and the recipes."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch

from peftctl.api import PeftctlError
from peftctl.testing import MethodContract, shipped_recipe, tiny_llama

METHODS = ["prompt_tuning", "p_tuning", "mtp", "prefix_tuning", "p_tuning_v2"]


class TestPromptTuning(MethodContract):
    method_name = "prompt_tuning"
    method_options: ClassVar[dict] = {"num_virtual_tokens": 10}
    expected_trainable = 10 * 32


class TestPrefixTuning(MethodContract):
    method_name = "prefix_tuning"
    method_options: ClassVar[dict] = {"num_virtual_tokens": 4, "encoder_hidden_size": 16}

    def test_gradient_checkpointing_is_refused(self) -> None:
        model = tiny_llama()
        model.gradient_checkpointing_enable()
        with pytest.raises(PeftctlError, match="gradient_checkpointing=false"):
            self.make_method().apply(model)

    def test_checkpointing_enabled_after_apply_is_refused(self) -> None:
        method, model = self.applied()
        model.get_base_model().gradient_checkpointing_enable()
        with pytest.raises(PeftctlError, match="gradient_checkpointing=false"):
            method.parameter_groups(model, lr=1e-3, weight_decay=0.0)


class TestPTuning(MethodContract):
    method_name = "p_tuning"
    method_options: ClassVar[dict] = {"num_virtual_tokens": 10, "encoder_hidden_size": 16}


class TestPTuningV2(MethodContract):
    method_name = "p_tuning_v2"
    method_options: ClassVar[dict] = {"num_virtual_tokens": 4}
    expected_trainable = 4 * 2 * 2 * 16  # tokens x layers x (key, value) x kv width


class TestMtp(MethodContract):
    method_name = "mtp"
    method_options: ClassVar[dict] = {"num_virtual_tokens": 10}

    def forward_kwargs(self, batch):
        return {"task_ids": torch.zeros(len(batch["input_ids"]), dtype=torch.long)}


@pytest.mark.parametrize("method", METHODS)
def test_recipe_is_shipped_and_valid(method):
    recipe = shipped_recipe(f"{method}_sst2")
    assert recipe.command == f"peftctl train {method}_sst2"
    assert recipe.config.method.name == method and recipe.config.dataset.name == "sst2"
