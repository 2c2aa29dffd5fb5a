"""Vblora passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from typing import Any, ClassVar

from peftctl.testing import MethodContract, shipped_recipe


class TestVblora(MethodContract):
    method_name = "vblora"
    # the defaults do not fit the tiny model (config.py measured these too)
    method_options: ClassVar[dict[str, Any]] = {"vector_length": 16}


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("vblora_sst2")
    assert recipe.command == "peftctl train vblora_sst2"
    assert recipe.config.method.name == "vblora" and recipe.config.eval.after_train
