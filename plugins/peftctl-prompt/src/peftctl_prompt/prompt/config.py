"""Options of the input soft-prompt methods (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peftctl.api import MethodConfig

if TYPE_CHECKING:
    from peftctl.api import Arch


@dataclass(kw_only=True)
class PromptTuningConfig(MethodConfig):
    """Trained embeddings prepended to every input (Lester et al., 2021)."""

    name: str = field(default="prompt_tuning", metadata={"help": "Method name."})
    num_virtual_tokens: int = field(
        default=100, metadata={"help": "Length of the soft prompt.", "min": 1}
    )
    init: str = field(
        default="random",
        metadata={
            "help": "Start from random vectors or from embeddings of random vocabulary tokens.",
            "choices": ("random", "sample_vocab"),
        },
    )

    def trainable_estimate(self, arch: Arch) -> int | None:
        return self.num_virtual_tokens * arch.hidden_size


@dataclass(kw_only=True)
class PTuningConfig(MethodConfig):
    """A soft prompt produced by a small trained encoder (Liu et al., 2021)."""

    name: str = field(default="p_tuning", metadata={"help": "Method name."})
    num_virtual_tokens: int = field(
        default=100, metadata={"help": "Length of the soft prompt.", "min": 1}
    )
    encoder: str = field(
        default="MLP",
        metadata={"help": "Prompt encoder architecture.", "choices": ("MLP", "LSTM")},
    )
    encoder_hidden_size: int = field(
        default=768, metadata={"help": "Hidden size of the prompt encoder.", "min": 1}
    )
    encoder_dropout: float = field(
        default=0.0, metadata={"help": "Dropout in the prompt encoder.", "min": 0, "max": 1}
    )

    def trainable_estimate(self, arch: Arch) -> int | None:
        d, h = arch.hidden_size, self.encoder_hidden_size
        if self.encoder == "MLP":  # d -> h -> h -> d
            encoder = (d + 1) * h + (h + 1) * h + (h + 1) * d
        else:  # peft's 2-layer bidirectional LSTM, then 2h -> 2h -> d
            lstm = 2 * (4 * h * (d + h) + 8 * h) + 2 * (4 * h * (2 * h + h) + 8 * h)
            encoder = lstm + (2 * h + 1) * 2 * h + (2 * h + 1) * d
        return self.num_virtual_tokens * d + encoder


@dataclass(kw_only=True)
class MtpConfig(MethodConfig):
    """A shared soft prompt times per-task low-rank factors (Wang et al., 2023).

    Training data has no task ids yet, so every example uses task 0.
    """

    name: str = field(default="mtp", metadata={"help": "Method name."})
    num_virtual_tokens: int = field(
        default=100, metadata={"help": "Length of the soft prompt.", "min": 1}
    )
    num_tasks: int = field(
        default=1, metadata={"help": "Number of task-specific factors.", "min": 1}
    )
    num_ranks: int = field(
        default=1, metadata={"help": "Rank of each task's prompt factors.", "min": 1}
    )

    def trainable_estimate(self, arch: Arch) -> int | None:
        n, r = self.num_virtual_tokens, self.num_ranks
        return n * arch.hidden_size + self.num_tasks * r * (n + arch.hidden_size)
