"""The contract kit over IA3, and its recipe."""

from __future__ import annotations

from peftctl.testing import MethodContract, shipped_recipe


class TestIa3(MethodContract):
    method_name = "ia3"
    # k_proj/v_proj outputs (16 each, 2 layers) and down_proj inputs (64, 2 layers)


def test_recipe_is_shipped_and_valid():
    recipe = shipped_recipe("ia3_sst2")
    assert recipe.command == "peftctl train ia3_sst2"
    assert recipe.config.method.name == "ia3" and recipe.config.dataset.name == "sst2"


def test_feedforward_roles_and_names_mix_and_are_checked_on_the_model():
    import pytest

    from peftctl.api import PeftctlError
    from peftctl.testing import make_method, tiny_model

    # names as targets, the default role:down as feed-forward: down_proj on a Llama
    method = make_method("ia3", target_modules=["v_proj", "down_proj"])
    model = method.apply(tiny_model("llama"))
    assert set(model.peft_config["default"].feedforward_modules) == {"down_proj"}
    # GPT-2's down projection is mlp.c_proj: role:down is not among these targets
    method = make_method("ia3", target_modules=["role:value"])
    with pytest.raises(PeftctlError, match=r"feedforward_modules \['mlp.c_proj'\] are not in"):
        method.apply(tiny_model("gpt2"))
