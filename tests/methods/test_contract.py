"""The core's baselines pass the contract kit of :mod:`peftctl.testing` (every PEFT method
package runs it in its own tests)."""

from __future__ import annotations

from typing import ClassVar

import pytest

from peftctl.errors import PeftctlError
from peftctl.testing import MethodContract, tiny_llama


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
