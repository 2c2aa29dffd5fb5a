"""Frod passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestFrod(MethodContract):
    method_name = "frod"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("frod_sst2")
    assert recipe.command == "peftctl train frod_sst2"
    assert recipe.config.method.name == "frod" and recipe.config.eval.after_train
