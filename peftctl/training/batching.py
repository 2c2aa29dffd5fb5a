"""Deterministic batch plans and dynamic padding.

A plan depends only on (seed, epoch), so a resumed run sees exactly the batches the
interrupted one would have seen, and several processes split the same plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

IGNORE_INDEX = -100


@dataclass(frozen=True)
class TokenData:
    """Tokenised examples: ``input_ids[i]`` with ``labels[i]`` (-100 where no loss is taken)."""

    input_ids: Sequence[Sequence[int]]
    labels: Sequence[Sequence[int]]

    def __len__(self) -> int:
        return len(self.input_ids)

    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.input_ids]


def epoch_batches(
    lengths: Sequence[int],
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    group_by_length: bool = False,
) -> list[list[int]]:
    """Micro-batches (lists of example indices) for one epoch, shuffled by ``(seed, epoch)``.

    With ``group_by_length`` examples are sorted by length inside shuffled windows of
    50 batches, so each batch pads little while the batch order stays random.
    """
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    if group_by_length:
        window = batch_size * 50
        order = [
            i
            for start in range(0, len(order), window)
            for i in sorted(order[start : start + window], key=lambda i: -lengths[i])
        ]
    batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
    if group_by_length:  # shuffle batches so long ones are not all at the window starts
        perm = torch.randperm(len(batches), generator=generator).tolist()
        batches = [batches[i] for i in perm]
    return batches


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices in batches of similar length, longest first (evaluation: no shuffling)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


def collate(
    data: TokenData, indices: Sequence[int], pad_id: int, multiple: int = 1
) -> dict[str, torch.Tensor]:
    """Right-pad the chosen examples to the longest of them, rounded up to ``multiple``
    (never to the cutoff)."""
    width = max(len(data.input_ids[i]) for i in indices)
    width = -(-width // multiple) * multiple
    input_ids = torch.full((len(indices), width), pad_id, dtype=torch.long)
    labels = torch.full((len(indices), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(indices), width), dtype=torch.long)
    for row, i in enumerate(indices):
        n = len(data.input_ids[i])
        input_ids[row, :n] = torch.as_tensor(data.input_ids[i], dtype=torch.long)
        labels[row, :n] = torch.as_tensor(data.labels[i], dtype=torch.long)
        mask[row, :n] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}
