"""The contract kit over LN tuning, and its recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestLnTuning(MethodContract):
    method_name = "lntuning"


def test_recipe_is_shipped_and_valid():
    recipe = shipped_recipe("lntuning_sst2")
    assert recipe.command == "peftctl train lntuning_sst2"
    assert recipe.config.method.name == "lntuning" and recipe.config.dataset.name == "sst2"
