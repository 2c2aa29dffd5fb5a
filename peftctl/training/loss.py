"""Causal-LM loss that computes the LM head only where a label is taken.

The vocabulary projection is the largest matmul of a small model (49k x 576 for SmolLM2);
for prompt/response data most positions carry no loss, so gathering the hidden states of
labelled positions first saves most of that work, forward and backward.
"""

from __future__ import annotations

import torch
from torch import nn

from peftctl.methods.base import Method, causal_lm
from peftctl.training.batching import IGNORE_INDEX


class SparseLMLoss(nn.Module):
    """Wraps model + method; ``forward`` returns (summed token loss, number of loss tokens).

    It is the module accelerate prepares, so distributed wrappers see the whole forward.
    """

    def __init__(self, model: nn.Module, method: Method) -> None:
        super().__init__()
        self.model = model
        self.method = method

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.method.hidden_states(self.model, input_ids, attention_mask)
        targets = labels[:, 1:]
        keep = targets != IGNORE_INDEX
        picked = hidden[:, :-1][keep]  # [n_loss_tokens, hidden]
        head = causal_lm(self.model).get_output_embeddings()
        logits = head(picked).float()
        loss_sum = nn.functional.cross_entropy(logits, targets[keep], reduction="sum")
        return loss_sum, keep.sum()


def dense_lm_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean token loss the plain way (logits everywhere): the reference the tests compare to."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    return nn.functional.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(),
        batch["labels"][:, 1:].flatten(),
        ignore_index=IGNORE_INDEX,
    )
