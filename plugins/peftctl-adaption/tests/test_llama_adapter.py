"""Llama-Adapter passes peftctl's method contract, refuses models it cannot adapt in one line,
and ships a valid recipe."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from peftctl.api import PeftctlError
from peftctl.testing import MethodContract, make_method, shipped_recipe, tiny_model

from peftctl_adaption.config import TEST_OPTIONS


class TestLlamaAdapter(MethodContract):
    method_name = "llama_adapter"
    method_options: ClassVar[dict[str, Any]] = TEST_OPTIONS
    expected_trainable = 2 * (4 * 32 + 1)  # a 4-token prompt of width 32 and a gate, 2 layers


def test_a_family_peft_cannot_adapt_is_one_line():
    with pytest.raises(PeftctlError, match="llama_adapter adapts llama, mistral, gpt2 attention"):
        make_method("llama_adapter", adapter_layers=1).apply(tiny_model("gpt_neox"))


def test_more_layers_than_the_model_has_is_one_line():
    with pytest.raises(PeftctlError, match=r"method.adapter_layers=9: the model has 2 decoder"):
        make_method("llama_adapter", adapter_layers=9).apply(tiny_model("llama"))


def test_recipe_is_installed_and_valid() -> None:
    recipe = shipped_recipe("llama_adapter_sst2")
    assert recipe.command == "peftctl train llama_adapter_sst2"
    assert recipe.config.method.name == "llama_adapter" and recipe.config.eval.after_train
