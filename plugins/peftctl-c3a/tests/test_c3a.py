"""C3a passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from typing import Any, ClassVar

from peftctl.testing import MethodContract, shipped_recipe


class TestC3a(MethodContract):
    method_name = "c3a"
    # the defaults do not fit the tiny model (config.py measured these too)
    method_options: ClassVar[dict[str, Any]] = {"block_size": 16}


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("c3a_sst2")
    assert recipe.command == "peftctl train c3a_sst2"
    assert recipe.config.method.name == "c3a" and recipe.config.eval.after_train
