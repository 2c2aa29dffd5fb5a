"""The contract kit over OFT, and its recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestOft(MethodContract):
    method_name = "oft"


def test_recipe_is_shipped_and_valid():
    recipe = shipped_recipe("oft_sst2")
    assert recipe.command == "peftctl train oft_sst2"
    assert recipe.config.method.name == "oft" and recipe.config.dataset.name == "sst2"
