"""Glora passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestGlora(MethodContract):
    method_name = "glora"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("glora_sst2")
    assert recipe.command == "peftctl train glora_sst2"
    assert recipe.config.method.name == "glora" and recipe.config.eval.after_train
