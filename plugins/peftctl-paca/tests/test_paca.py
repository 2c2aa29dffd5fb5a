"""Paca passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestPaca(MethodContract):
    method_name = "paca"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("paca_sst2")
    assert recipe.command == "peftctl train paca_sst2"
    assert recipe.config.method.name == "paca" and recipe.config.eval.after_train
