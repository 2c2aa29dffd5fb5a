"""Boft passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestBoft(MethodContract):
    method_name = "boft"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("boft_sst2")
    assert recipe.command == "peftctl train boft_sst2"
    assert recipe.config.method.name == "boft" and recipe.config.eval.after_train
