"""Beft passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestBeft(MethodContract):
    method_name = "beft"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("beft_sst2")
    assert recipe.command == "peftctl train beft_sst2"
    assert recipe.config.method.name == "beft" and recipe.config.eval.after_train
