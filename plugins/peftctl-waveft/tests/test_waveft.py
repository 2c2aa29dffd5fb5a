"""Waveft passes peftctl's method contract and ships a valid recipe."""

from __future__ import annotations

from typing import Any, ClassVar

from peftctl.testing import MethodContract, shipped_recipe


class TestWaveft(MethodContract):
    method_name = "waveft"
    # the defaults do not fit the tiny model (config.py measured these too)
    method_options: ClassVar[dict[str, Any]] = {"n_frequency": 64}


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("waveft_sst2")
    assert recipe.command == "peftctl train waveft_sst2"
    assert recipe.config.method.name == "waveft" and recipe.config.eval.after_train
