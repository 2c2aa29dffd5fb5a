"""Options of the key/value prefix methods (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl.api import MethodConfig

if TYPE_CHECKING:
    from peftctl.api import Arch


@dataclass(kw_only=True)
class PrefixTuningConfig(MethodConfig):
    """Trained key/value prefixes in every layer, produced by an MLP (Li & Liang, 2021).

    Does not work with ``train.gradient_checkpointing``.
    """

    name: str = field(default="prefix_tuning", metadata={"help": "Method name."})
    num_virtual_tokens: int = field(
        default=32, metadata={"help": "Length of the prefix in every layer.", "min": 1}
    )
    encoder_hidden_size: int = field(
        default=512, metadata={"help": "Hidden size of the reparameterisation MLP.", "min": 1}
    )

    def trainable_estimate(self, arch: Arch) -> int | None:
        width, hidden = arch.kv_width, self.encoder_hidden_size  # peft sizes prefixes by keys
        out = arch.num_layers * 2 * width  # a key and a value per layer
        mlp = (width + 1) * hidden + (hidden + 1) * out
        return self.num_virtual_tokens * width + mlp


@dataclass(kw_only=True)
class PTuningV2Config(MethodConfig):
    """Deep prompts: key/value prefixes in every layer trained directly, without an encoder
    (Liu et al., 2022). Does not work with ``train.gradient_checkpointing``."""

    name: str = field(default="p_tuning_v2", metadata={"help": "Method name."})
    num_virtual_tokens: int = field(
        default=32, metadata={"help": "Length of the prefix in every layer.", "min": 1}
    )
    init: str = field(
        default="model",
        metadata={
            "help": "model: the prefix starts as the frozen model's own keys/values of "
            "num_virtual_tokens vocabulary tokens (Li & Liang's remedy; the model starts as "
            "if they preceded the input); random: peft's N(0, 1) prefix.",
            "choices": ["model", "random"],
        },
    )

    def trainable_estimate(self, arch: Arch) -> int | None:
        return self.num_virtual_tokens * arch.num_layers * 2 * arch.kv_width
