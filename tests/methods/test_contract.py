"""Every built-in method passes the contract kit of :mod:`peftctl.testing`."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch

from peftctl.errors import PeftctlError
from peftctl.testing import MethodContract, random_batch, tiny_llama


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


class TestAdaLora(MethodContract):
    method_name = "adalora"
    method_options: ClassVar[dict] = {"total_step": 10, "tinit": 0, "tfinal": 2}

    @pytest.mark.parametrize("weight", [0.0, 0.5])
    def test_gradients_include_the_orthogonality_penalty(self, weight: float) -> None:
        """The trainer's sparse loss + ``regularization`` == peft's own loss (which adds the
        penalty inside ``AdaLoraModel.forward``), gradient for gradient."""
        from peftctl.training.loss import SparseLMLoss

        self.method_options = {**self.method_options, "orth_reg_weight": weight}
        method, model = self.applied()
        batch = random_batch(seed=3)

        def grads(objective) -> list[torch.Tensor]:
            model.zero_grad(set_to_none=True)
            objective().backward()
            return [p.grad.clone() for _, p in method.trainable_parameters(model)]

        def ours():
            loss_sum, n_tokens = SparseLMLoss(model, method)(**batch)
            penalty = method.regularization(model)
            return loss_sum / n_tokens + (0 if penalty is None else penalty)

        theirs = grads(lambda: model(**batch).loss)
        for a, b in zip(grads(ours), theirs, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
        assert (method.regularization(model) is None) == (weight == 0)


class TestVera(MethodContract):
    method_name = "vera"
    method_options: ClassVar[dict] = {"r": 16}


class TestOft(MethodContract):
    method_name = "oft"


class TestIa3(MethodContract):
    method_name = "ia3"
    # k_proj/v_proj outputs (16 each, 2 layers) and down_proj inputs (64, 2 layers)
    expected_trainable = 2 * (16 + 16 + 64)


class TestLnTuning(MethodContract):
    method_name = "lntuning"


class TestPromptTuning(MethodContract):
    method_name = "prompt_tuning"
    method_options: ClassVar[dict] = {"num_virtual_tokens": 10}
    expected_trainable = 10 * 32


class TestPrefixTuning(MethodContract):
    method_name = "prefix_tuning"
    method_options: ClassVar[dict] = {"num_virtual_tokens": 4, "encoder_hidden_size": 16}

    def test_gradient_checkpointing_is_refused(self) -> None:
        model = tiny_llama()
        model.gradient_checkpointing_enable()
        with pytest.raises(PeftctlError, match="gradient_checkpointing=false"):
            self.make_method().apply(model)

    def test_checkpointing_enabled_after_apply_is_refused(self) -> None:
        method, model = self.applied()
        model.get_base_model().gradient_checkpointing_enable()
        with pytest.raises(PeftctlError, match="gradient_checkpointing=false"):
            method.parameter_groups(model, lr=1e-3, weight_decay=0.0)


class TestPTuning(MethodContract):
    method_name = "p_tuning"
    method_options: ClassVar[dict] = {"num_virtual_tokens": 10, "encoder_hidden_size": 16}


class TestPTuningV2(MethodContract):
    method_name = "p_tuning_v2"
    method_options: ClassVar[dict] = {"num_virtual_tokens": 4}
    expected_trainable = 4 * 2 * 2 * 16  # tokens x layers x (key, value) x kv width


class TestMtp(MethodContract):
    method_name = "mtp"
    method_options: ClassVar[dict] = {"num_virtual_tokens": 10}

    def forward_kwargs(self, batch):
        import torch

        return {"task_ids": torch.zeros(len(batch["input_ids"]), dtype=torch.long)}


class TestFull(MethodContract):
    method_name = "full"
    lr = 1e-3


class TestFreeze(MethodContract):
    method_name = "freeze"
    method_options: ClassVar[dict] = {"trainable_layers": 1}
    lr = 1e-3

    def test_only_the_last_layers_train(self) -> None:
        method, model = self.applied()
        names = {n for n, _ in method.trainable_parameters(model)}
        assert names and all(n.startswith("model.layers.1.") for n in names)

    def test_too_many_layers_is_a_user_error(self) -> None:
        method = self.make_method()
        method.config.trainable_layers = 3
        with pytest.raises(PeftctlError, match="trainable_layers"):
            method.apply(tiny_llama())
