"""The contract kit over LoRA and its variants, LoRA+'s optimiser groups, and the recipes."""

from __future__ import annotations

import pytest

from peftctl.testing import MethodContract, shipped_recipe


class TestLora(MethodContract):
    method_name = "lora"
    expected_trainable = 2 * (8 * 32 + 32 * 8) + 2 * (8 * 32 + 16 * 8)  # q (32->32), v (32->16)


class TestDora(MethodContract):
    method_name = "dora"


class TestLoraPlus(MethodContract):
    method_name = "loraplus"

    def test_b_matrices_get_the_lr_ratio(self) -> None:
        method, model = self.applied()
        groups = method.parameter_groups(model, lr=1e-3, weight_decay=0.0)
        by_lr = {g["lr"]: sum(p.numel() for p in g["params"]) for g in groups}
        assert set(by_lr) == {1e-3, 16e-3}
        assert by_lr[16e-3] == 2 * 32 * 8 + 2 * 16 * 8  # lora_B of q_proj and v_proj


class TestPissa(MethodContract):
    method_name = "pissa"


@pytest.mark.parametrize("method", ["lora", "dora", "loraplus", "pissa"])
def test_recipe_is_shipped_and_valid(method):
    recipe = shipped_recipe(f"{method}_sst2")
    assert recipe.command == f"peftctl train {method}_sst2"
    assert recipe.config.method.name == method and recipe.config.dataset.name == "sst2"
