"""Fourierft passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from typing import Any, ClassVar

from peftctl.testing import MethodContract, shipped_recipe


class TestFourierft(MethodContract):
    method_name = "fourierft"
    # the defaults do not fit the tiny model (config.py measured these too)
    method_options: ClassVar[dict[str, Any]] = {"n_frequency": 100}


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("fourierft_sst2")
    assert recipe.command == "peftctl train fourierft_sst2"
    assert recipe.config.method.name == "fourierft" and recipe.config.eval.after_train
