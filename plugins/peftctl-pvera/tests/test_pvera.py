"""Pvera passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestPvera(MethodContract):
    method_name = "pvera"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("pvera_sst2")
    assert recipe.command == "peftctl train pvera_sst2"
    assert recipe.config.method.name == "pvera" and recipe.config.eval.after_train
