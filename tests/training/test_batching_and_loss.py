"""Batch plans, dynamic padding and the sparse LM-head loss."""

from __future__ import annotations

import pytest
import torch

from peftctl.methods.lora.config import LoraConfig
from peftctl.methods.lora.method import LoraMethod
from peftctl.training.batching import collate, epoch_batches, sorted_batches
from peftctl.training.loss import SparseLMLoss, dense_lm_loss
from tests.training.tiny import tiny_model, token_data


def test_epoch_plan_is_deterministic_and_covers_every_example():
    lengths = list(range(5, 45))
    a = epoch_batches(lengths, 4, seed=3, epoch=0)
    assert a == epoch_batches(lengths, 4, seed=3, epoch=0)
    assert a != epoch_batches(lengths, 4, seed=3, epoch=1)
    assert sorted(i for batch in a for i in batch) == list(range(40))


def test_length_grouping_pads_less():
    lengths = [
        int(x) for x in torch.randint(4, 200, (400,), generator=torch.Generator().manual_seed(0))
    ]

    def padding(batches):
        return sum(
            max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches
        )

    plain = epoch_batches(lengths, 8, seed=0, epoch=0)
    grouped = epoch_batches(lengths, 8, seed=0, epoch=0, group_by_length=True)
    assert sorted(i for b in grouped for i in b) == list(range(400))
    assert padding(grouped) < padding(plain) / 4


def test_collate_pads_to_the_longest_in_the_batch_only():
    data = token_data(8)
    batch = collate(data, [0, 1, 2], pad_id=0)
    width = max(len(data.input_ids[i]) for i in (0, 1, 2))
    assert batch["input_ids"].shape == (3, width)
    assert batch["attention_mask"].sum().item() == sum(len(data.input_ids[i]) for i in (0, 1, 2))
    assert (batch["labels"][batch["attention_mask"] == 0] == -100).all()


def test_sorted_batches_are_longest_first():
    batches = sorted_batches([3, 9, 1, 7], 2)
    assert batches == [[1, 3], [0, 2]]


@pytest.mark.parametrize("with_lora", [False, True])
def test_sparse_loss_equals_the_dense_loss_and_its_gradients(with_lora):
    model = tiny_model()
    method = LoraMethod(LoraConfig(init="gaussian"))
    if with_lora:
        model = method.apply(model)
    batch = collate(token_data(6), list(range(6)), pad_id=0)
    loss_sum, n = SparseLMLoss(model, method)(**batch)
    sparse = loss_sum / n
    sparse.backward()
    sparse_grads = [p.grad.clone() for p in model.parameters() if p.requires_grad]
    model.zero_grad()
    dense = dense_lm_loss(model, batch)
    dense.backward()
    dense_grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert n.item() == int((batch["labels"][:, 1:] != -100).sum())
    torch.testing.assert_close(sparse, dense, rtol=1e-5, atol=1e-6)
    for a, b in zip(sparse_grads, dense_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
