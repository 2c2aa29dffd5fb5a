"""``PeftMethod``: peft's own refusals become one line."""

from __future__ import annotations

from dataclasses import dataclass

import peft
import pytest

from peftctl.api import PeftctlError, PeftMethod, TargetModulesConfig, peft_targets
from peftctl.testing import tiny_llama


@dataclass(kw_only=True)
class LilyOptions(TargetModulesConfig):
    name: str = "lily_probe"


class LilyProbe(PeftMethod):
    """A tuner peft cannot merge (Lily raises NotImplementedError)."""

    def peft_config(self) -> peft.LilyConfig:
        return peft.LilyConfig(
            task_type="CAUSAL_LM", r=4, target_modules=peft_targets(self.config.target_modules)
        )


def test_a_tuner_peft_cannot_merge_is_refused_in_one_line():
    method = LilyProbe(LilyOptions())
    model = method.apply(tiny_llama())
    with pytest.raises(PeftctlError, match=r"^lily_probe cannot be merged: peft says '.*Lily"):
        method.merge(model)
