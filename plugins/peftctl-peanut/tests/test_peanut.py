"""Peanut passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestPeanut(MethodContract):
    method_name = "peanut"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("peanut_sst2")
    assert recipe.command == "peftctl train peanut_sst2"
    assert recipe.config.method.name == "peanut" and recipe.config.eval.after_train
