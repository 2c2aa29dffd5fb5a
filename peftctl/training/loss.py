"""Causal-LM loss that computes the LM head only where a label is taken.

The vocabulary projection is the largest matmul of a small model (49k x 576 for SmolLM2);
for prompt/response data most positions carry no loss, so gathering the hidden states of
labelled positions first saves most of that work, forward and backward.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from peftctl.methods.base import Method, lm_logits
from peftctl.training.batching import IGNORE_INDEX


class SparseLMLoss(nn.Module):
    """Wraps model + method; ``forward`` returns (summed token loss, number of loss tokens).

    It takes a right-padded batch (``input_ids``, ``attention_mask``, ``labels``) or a packed
    one (:class:`~peftctl.training.packing.PackedBatch` inputs: ``input_ids``,
    ``position_ids``, ``targets``, ``packed_layout``; the model's attention must then be
    :func:`~peftctl.training.packing.packed_attention`). It is the module accelerate
    prepares, so distributed wrappers see the whole forward.
    """

    def __init__(self, model: nn.Module, method: Method) -> None:
        super().__init__()
        self.model = model
        self.method = method

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **packed: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        picked, targets = self.target_states(input_ids, attention_mask, labels, **packed)
        logits = lm_logits(self.model, picked).float()
        loss_sum = nn.functional.cross_entropy(logits, targets, reduction="sum")
        return loss_sum, torch.tensor(targets.numel(), device=targets.device)

    def target_states(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        *,
        position_ids: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        packed_layout: Any = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Last hidden states ``[n, hidden]`` of the positions that predict a label, and the
        ``n`` labels, in example order."""
        if packed_layout is None:
            hidden = self.method.hidden_states(self.model, input_ids, attention_mask)[:, :-1]
            targets = labels[:, 1:]
        else:
            hidden = self.method.packed_hidden_states(
                self.model, input_ids, position_ids, packed_layout
            )
        keep = targets != IGNORE_INDEX
        return hidden[keep], targets[keep]


def dense_lm_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean token loss the plain way (logits everywhere): the reference the tests compare to."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    return nn.functional.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(),
        batch["labels"][:, 1:].flatten(),
        ignore_index=IGNORE_INDEX,
    )
