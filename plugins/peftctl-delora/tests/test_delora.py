"""Delora passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestDelora(MethodContract):
    method_name = "delora"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("delora_sst2")
    assert recipe.command == "peftctl train delora_sst2"
    assert recipe.config.method.name == "delora" and recipe.config.eval.after_train
