"""Lokr passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestLokr(MethodContract):
    method_name = "lokr"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("lokr_sst2")
    assert recipe.command == "peftctl train lokr_sst2"
    assert recipe.config.method.name == "lokr" and recipe.config.eval.after_train
