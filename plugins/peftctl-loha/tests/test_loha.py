"""Loha passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestLoha(MethodContract):
    method_name = "loha"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("loha_sst2")
    assert recipe.command == "peftctl train loha_sst2"
    assert recipe.config.method.name == "loha" and recipe.config.eval.after_train
