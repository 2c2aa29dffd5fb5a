"""Osf passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestOsf(MethodContract):
    method_name = "osf"


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("osf_sst2")
    assert recipe.command == "peftctl train osf_sst2"
    assert recipe.config.method.name == "osf" and recipe.config.eval.after_train
