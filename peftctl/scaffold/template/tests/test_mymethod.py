"""MyMethod passes peftctl's method contract, starts as the base model, and ships a recipe."""

from __future__ import annotations

import torch
from peftctl.testing import MethodContract, random_batch, shipped_recipe, tiny_llama


class TestMyMethod(MethodContract):
    method_name = "mymethod"
    # q_proj (32 outputs) and v_proj (16 outputs) in each of the tiny Llama's 2 layers
    expected_trainable = 2 * (32 + 16)

    def test_starts_as_the_base_model(self) -> None:
        method, model = self.applied()
        batch = random_batch()
        torch.testing.assert_close(
            self.logits(method, model, batch), self.logits(method, tiny_llama(), batch)
        )


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("mymethod_sst2")
    assert recipe.command == "peftctl train mymethod_sst2"
    assert recipe.config.method.name == "mymethod"
