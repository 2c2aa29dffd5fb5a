"""Unilora passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from typing import Any, ClassVar

from peftctl.testing import MethodContract, shipped_recipe


class TestUnilora(MethodContract):
    method_name = "unilora"
    # the defaults do not fit the tiny model (config.py measured these too)
    method_options: ClassVar[dict[str, Any]] = {"theta_d_length": 256}


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("unilora_sst2")
    assert recipe.command == "peftctl train unilora_sst2"
    assert recipe.config.method.name == "unilora" and recipe.config.eval.after_train
