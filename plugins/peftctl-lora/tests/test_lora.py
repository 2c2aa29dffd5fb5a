"""The contract kit over LoRA and its variants, LoRA+'s optimiser groups, and the recipes."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from peftctl.api import PeftctlError
from peftctl.testing import MethodContract, make_method, shipped_recipe, tiny_model


class TestLora(MethodContract):
    method_name = "lora"
    expected_trainable = 2 * (8 * 32 + 32 * 8) + 2 * (8 * 32 + 16 * 8)  # q (32->32), v (32->16)


class TestDora(MethodContract):
    method_name = "dora"


class TestLoraPlus(MethodContract):
    method_name = "loraplus"

    def test_b_matrices_get_the_lr_ratio(self) -> None:
        method, model = self.applied()
        groups = method.parameter_groups(model, lr=1e-3, weight_decay=0.0)
        by_lr = {g["lr"]: sum(p.numel() for p in g["params"]) for g in groups}
        assert set(by_lr) == {1e-3, 16e-3}
        assert by_lr[16e-3] == 2 * 32 * 8 + 2 * 16 * 8  # lora_B of q_proj and v_proj


class TestPissa(MethodContract):
    method_name = "pissa"


class TestOlora(MethodContract):
    method_name = "olora"

    def test_saved_adapter_is_plain_lora_for_the_original_base(self, tmp_path) -> None:
        method, model = self.trained()
        method.save(model, tmp_path / "adapter")
        config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
        # converted: rank 2r, initialised as plain LoRA, so any LoRA reader can apply it
        assert config["r"] == 16 and config["init_lora_weights"] is True


class TestRsLora(MethodContract):
    method_name = "rslora"


class TestOrthogonalInit(MethodContract):
    method_name = "lora"
    method_options: ClassVar[dict[str, Any]] = {"init": "orthogonal"}


class TestLoraFa(MethodContract):
    method_name = "lorafa"
    expected_trainable = 2 * (32 * 8 + 16 * 8)  # B of q_proj (32 out) and v_proj (16 out)

    def test_a_stays_and_the_optimiser_is_lorafas(self) -> None:
        from peft.optimizers.lorafa import LoraFAOptimizer

        method, model = self.applied()
        assert all(not p.requires_grad for n, p in model.named_parameters() if "lora_A" in n)
        groups = method.parameter_groups(model, lr=1e-3, weight_decay=0.0)
        assert isinstance(method.make_optimizer(groups, lr=1e-3), LoraFAOptimizer)


def test_rslora_scales_by_the_square_root_of_the_rank():
    model = make_method("rslora", r=16, alpha=16).apply(tiny_model("llama"))
    scaling = next(m.scaling["default"] for _, m in model.named_modules() if hasattr(m, "lora_A"))
    assert scaling == pytest.approx(16 / 16**0.5)


@pytest.mark.parametrize(
    ("method", "options", "message"),
    [
        ("lora", {"init": "orthogonal", "r": 7}, "method.init=orthogonal needs an even method.r"),
        ("lorafa", {"init": "pissa"}, "method.init=pissa: LoRA-FA keeps A"),
        ("lora", {"init": "eva"}, "method.init=eva is not one of default, gaussian, orthogonal"),
    ],
)
def test_variant_options_that_do_not_fit_are_one_line(method, options, message):
    with pytest.raises(PeftctlError, match=message):
        make_method(method, **options)


@pytest.mark.parametrize(
    ("recipe", "method"),
    [
        ("lora", "lora"),
        ("dora", "dora"),
        ("loraplus", "loraplus"),
        ("pissa", "pissa"),
        ("rslora", "rslora"),
        ("olora", "olora"),
        ("lorafa", "lorafa"),
    ],
)
def test_recipe_is_shipped_and_valid(recipe, method):
    shipped = shipped_recipe(f"{recipe}_sst2")
    assert shipped.command == f"peftctl train {recipe}_sst2"
    assert shipped.config.method.name == method and shipped.config.dataset.name == "sst2"
