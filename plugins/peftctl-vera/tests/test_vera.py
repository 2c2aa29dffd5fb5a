"""The contract kit over VeRA, and its recipe."""

from __future__ import annotations

from typing import ClassVar

from peftctl.testing import MethodContract, shipped_recipe


class TestVera(MethodContract):
    method_name = "vera"
    method_options: ClassVar[dict] = {"r": 16}


def test_recipe_is_shipped_and_valid():
    recipe = shipped_recipe("vera_sst2")
    assert recipe.command == "peftctl train vera_sst2"
    assert recipe.config.method.name == "vera" and recipe.config.dataset.name == "sst2"
