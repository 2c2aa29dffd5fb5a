"""The contract kit over IA3, and its recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestIa3(MethodContract):
    method_name = "ia3"
    # k_proj/v_proj outputs (16 each, 2 layers) and down_proj inputs (64, 2 layers)


def test_recipe_is_shipped_and_valid():
    recipe = shipped_recipe("ia3_sst2")
    assert recipe.command == "peftctl train ia3_sst2"
    assert recipe.config.method.name == "ia3" and recipe.config.dataset.name == "sst2"
