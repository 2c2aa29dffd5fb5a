"""Deft passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestDeft(MethodContract):
    method_name = "deft"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("deft_sst2")
    assert recipe.command == "peftctl train deft_sst2"
    assert recipe.config.method.name == "deft" and recipe.config.eval.after_train
