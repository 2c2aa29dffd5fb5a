"""The contract kit over AdaLoRA, its orthogonality penalty, and the recipe."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch

from peftctl.testing import MethodContract, random_batch, shipped_recipe, token_loss


class TestAdaLora(MethodContract):
    method_name = "adalora"
    method_options: ClassVar[dict] = {"total_step": 10, "tinit": 0, "tfinal": 2}

    @pytest.mark.parametrize("weight", [0.0, 0.5])
    def test_gradients_include_the_orthogonality_penalty(self, weight: float) -> None:
        """The trainer's sparse loss + ``regularization`` == peft's own loss (which adds the
        penalty inside ``AdaLoraModel.forward``), gradient for gradient."""
        self.method_options = {**self.method_options, "orth_reg_weight": weight}
        method, model = self.applied()
        batch = random_batch(seed=3)

        def grads(objective) -> list[torch.Tensor]:
            model.zero_grad(set_to_none=True)
            objective().backward()
            return [p.grad.clone() for _, p in method.trainable_parameters(model)]

        def ours():
            penalty = method.regularization(model)
            return token_loss(method, model, batch) + (0 if penalty is None else penalty)

        theirs = grads(lambda: model(**batch).loss)
        for a, b in zip(grads(ours), theirs, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
        assert (method.regularization(model) is None) == (weight == 0)


def test_recipe_is_shipped_and_valid():
    recipe = shipped_recipe("adalora_sst2")
    assert recipe.command == "peftctl train adalora_sst2"
    assert recipe.config.method.name == "adalora" and recipe.config.method.total_step == 100
