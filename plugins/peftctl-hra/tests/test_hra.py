"""Hra passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestHra(MethodContract):
    method_name = "hra"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("hra_sst2")
    assert recipe.command == "peftctl train hra_sst2"
    assert recipe.config.method.name == "hra" and recipe.config.eval.after_train
