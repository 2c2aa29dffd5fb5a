"""Adamss passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from typing import Any, ClassVar

from peftctl.testing import MethodContract, shipped_recipe


class TestAdamss(MethodContract):
    method_name = "adamss"
    # the defaults do not fit the tiny model (config.py measured these too)
    method_options: ClassVar[dict[str, Any]] = {"r": 8, "num_subspaces": 2}


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("adamss_sst2")
    assert recipe.command == "peftctl train adamss_sst2"
    assert recipe.config.method.name == "adamss" and recipe.config.eval.after_train
