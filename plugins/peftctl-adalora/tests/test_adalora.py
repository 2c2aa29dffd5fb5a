"""The contract kit over AdaLoRA, its orthogonality penalty, and the recipe."""

from __future__ import annotations

import warnings
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

    def test_a_pruned_adapter_saves_and_loads_without_peft_warnings(self, tmp_path) -> None:
        """After the budget is allocated, peft warns on save about ranks pruned to zero and on
        load about its own ``rank_pattern`` keys: nothing a user can act on. The logits
        still round-trip."""
        self.method_options = {"total_step": 6, "tinit": 0, "tfinal": 1, "delta_t": 1, "r": 1}
        method, model = self.applied()
        for step in range(1, 7):
            self.train_step(method, model, step)
        assert model.peft_config["default"].rank_pattern  # the allocator ran
        batch = random_batch(seed=9)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # transformers 5.24+'s deprecation notices reach peft's calls; peftctl drops them
            warnings.filterwarnings("ignore", category=FutureWarning, message=".*deprecated")
            method.save(model, tmp_path / "adapter")
            loaded_method, loaded = self.reloaded(tmp_path / "adapter", trainable=False)
        assert [str(w.message)[:60] for w in caught] == []
        torch.testing.assert_close(
            self.logits(loaded_method, loaded, batch), self.logits(method, model, batch)
        )

    def test_ranknum_stays_frozen_on_a_bf16_base(self, tmp_path) -> None:
        """peft re-wraps ``ranknum`` as a trainable parameter when it moves the adapter to a
        bf16 base; it must stay a constant (not trained, not saved)."""
        method = self.make_method()
        model = method.apply(self.base_model().to(torch.bfloat16))
        trainable = [name for name, _ in method.trainable_parameters(model)]
        assert trainable and not [name for name in trainable if "ranknum" in name]
        method.save(model, tmp_path / "adapter")
        loaded = method.load(
            self.base_model().to(torch.bfloat16), tmp_path / "adapter", trainable=True
        )
        assert not [n for n, p in loaded.named_parameters() if p.requires_grad and "ranknum" in n]


def test_recipe_is_shipped_and_valid():
    recipe = shipped_recipe("adalora_sst2")
    assert recipe.command == "peftctl train adalora_sst2"
    assert recipe.config.method.name == "adalora" and recipe.config.method.total_step == 100
