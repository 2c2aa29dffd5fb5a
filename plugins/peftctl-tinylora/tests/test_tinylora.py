"""Tinylora passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestTinylora(MethodContract):
    method_name = "tinylora"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("tinylora_sst2")
    assert recipe.command == "peftctl train tinylora_sst2"
    assert recipe.config.method.name == "tinylora" and recipe.config.eval.after_train
