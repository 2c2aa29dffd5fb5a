"""Supertuning passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestSupertuning(MethodContract):
    method_name = "supertuning"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("supertuning_sst2")
    assert recipe.command == "peftctl train supertuning_sst2"
    assert recipe.config.method.name == "supertuning" and recipe.config.eval.after_train
