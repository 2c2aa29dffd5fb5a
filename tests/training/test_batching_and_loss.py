"""Batch plans, dynamic padding, packing and the sparse LM-head loss."""

from __future__ import annotations

import contextlib

import pytest
import torch
from peftctl_lora.config import LoraConfig
from peftctl_lora.method import LoraMethod

from peftctl.testing import make_method, tiny_llama, tiny_model
from peftctl.training import packing
from peftctl.training.batching import TokenData, collate, epoch_batches, sorted_batches
from peftctl.training.loss import SparseLMLoss, dense_lm_loss
from peftctl.training.packing import pack, packed_attention
from tests.training.tiny import token_data


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
    model = tiny_llama()
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


def test_the_sparse_loss_applies_gemma2s_final_logit_softcap():
    model = tiny_model(
        "gemma2", head_dim=8, final_logit_softcapping=2.0, attn_implementation="eager"
    )
    method = make_method("full")
    batch = collate(token_data(6), list(range(6)), pad_id=0)
    loss_sum, n = SparseLMLoss(model, method)(**batch)
    # a cap of 2 bounds every logit in (-2, 2): without it the loss would be another
    torch.testing.assert_close(loss_sum / n, dense_lm_loss(model, batch), rtol=1e-5, atol=1e-6)


# -- packing --------------------------------------------------------------------------------
def prefixed_data(n: int = 6, prefix: tuple[int, ...] = (5, 6, 7, 8, 9)) -> TokenData:
    """token_data with a shared loss-free prompt prefix, and a token after the last target."""
    data = token_data(n)
    return TokenData(
        [[*prefix, *ids, 4] for ids in data.input_ids],
        [[-100] * len(prefix) + labels + [-100] for labels in data.labels],
    )


def test_pack_shares_the_prefix_and_stops_at_the_last_target():
    data = prefixed_data(3)
    batch = pack(data, [0, 1, 2], pad_id=0)
    ids, positions, targets = (
        t[0].tolist() for t in (batch.input_ids, batch.position_ids, batch.targets)
    )
    assert batch.layout.prefix == 5 and ids[:5] == [5, 6, 7, 8, 9]
    start = 5
    for i in range(3):
        x, y = data.input_ids[i], data.labels[i]
        length = len(x) - 2 - 5  # inputs end before the last target; the prefix is shared
        assert ids[start : start + length] == x[5 : 5 + length]
        assert positions[start : start + length] == list(range(5, 5 + length))
        assert targets[start : start + length] == y[6 : 6 + length]
        start += length
    assert start == len(ids)
    assert batch.tokens == sum(len(x) for x in data.input_ids)
    assert sum(t != -100 for t in targets) == sum(t != -100 for y in data.labels for t in y)


def test_pack_rounds_the_row_up_with_a_segment_that_carries_no_loss():
    batch = pack(prefixed_data(3), [0, 1, 2], pad_id=0, multiple=16)
    ids, targets = batch.input_ids, batch.targets
    assert ids.shape[1] % 16 == 0 and batch.layout.index.shape[1] % 16 == 0
    assert int(batch.layout.valid.sum()) + batch.layout.prefix == ids.shape[1]
    assert (targets[0, -1] == -100).item()


def _loss_and_grads(loss: SparseLMLoss, model, inputs: dict):
    model.zero_grad()
    loss_sum, n = loss(**inputs)
    (loss_sum / n).backward()
    return (
        (loss_sum / n).detach(),
        n,
        [p.grad.clone() for p in model.parameters() if p.grad is not None],
    )


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("share_prefix", [False, True])
@pytest.mark.parametrize("multiple", [1, 16])
def test_packed_loss_and_gradients_equal_the_padded_ones(attention, share_prefix, multiple):
    model = tiny_llama()
    model.config._attn_implementation = attention
    method = LoraMethod(LoraConfig(init="gaussian"))
    model = method.apply(model)
    loss = SparseLMLoss(model, method)
    data, indices = prefixed_data(6), list(range(6))
    padded = _loss_and_grads(loss, model, collate(data, indices, pad_id=0))
    batch = pack(data, indices, 0, share_prefix=share_prefix, multiple=multiple,
                 eager=attention == "eager")  # fmt: skip
    assert batch.layout.prefix == (5 if share_prefix else 0)
    with packed_attention(model):
        packed = _loss_and_grads(loss, model, batch.inputs("cpu"))
    assert model.config._attn_implementation == attention  # restored
    assert packed[1].item() == padded[1].item()
    torch.testing.assert_close(packed[0], padded[0], rtol=1e-5, atol=1e-6)
    assert len(packed[2]) == len(padded[2]) > 0
    for a, b in zip(packed[2], padded[2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_the_packing_check_catches_a_model_that_ignores_the_layout(monkeypatch):
    method = LoraMethod(LoraConfig(init="gaussian"))
    model = method.apply(tiny_llama())
    loss = SparseLMLoss(model, method)
    data = prefixed_data(6)
    assert packing.packing_obstacle(model, method) is None
    assert packing.packing_mismatch(loss, data, 0, "cpu") is None
    # attention over the whole packed row: examples see each other
    monkeypatch.setattr(packing, "packed_attention", lambda model: contextlib.nullcontext())
    reason = packing.packing_mismatch(loss, data, 0, "cpu")
    assert reason.startswith("packed and padded hidden states differ (relative error")
    assert model.training  # left as it was


PROMPT_METHODS = ["prompt_tuning", "p_tuning", "mtp", "prefix_tuning", "p_tuning_v2"]


@pytest.mark.parametrize("name", PROMPT_METHODS)
@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize(("share_prefix", "multiple"), [(False, 1), (True, 16)])
def test_prompt_methods_packed_equal_padded(name, attention, share_prefix, multiple):
    """Virtual tokens and key/value prefixes are a shared prefix of the packed row: the loss
    and the gradients of the prompt parameters equal the padded batch's."""
    model = tiny_llama()
    model.config._attn_implementation = attention
    method = make_method(name, num_virtual_tokens=4)
    model = method.apply(model)
    loss = SparseLMLoss(model, method)
    data, indices = prefixed_data(6), list(range(6))
    assert packing.packing_obstacle(model, method) is None
    padded = _loss_and_grads(loss, model, collate(data, indices, pad_id=0))
    batch = pack(data, indices, 0, share_prefix=share_prefix, multiple=multiple,
                 eager=attention == "eager")  # fmt: skip
    with packed_attention(model):
        packed = _loss_and_grads(loss, model, batch.inputs("cpu"))
    assert packed[1].item() == padded[1].item()
    torch.testing.assert_close(packed[0], padded[0], rtol=1e-5, atol=1e-6)
    assert len(packed[2]) == len(padded[2]) > 0
    for a, b in zip(packed[2], padded[2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert packing.packing_mismatch(loss, data, 0, "cpu") is None


def test_a_method_with_its_own_hidden_states_and_no_packed_path_is_not_packed():
    lora = make_method("lora", init="gaussian")

    class Shifted(type(lora)):
        def hidden_states(self, model, input_ids, attention_mask):
            return super().hidden_states(model, input_ids.roll(1, dims=1), attention_mask)

    method = Shifted(lora.config)
    reason = packing.packing_obstacle(method.apply(tiny_llama()), method)
    assert reason == "the method runs its own forward pass, which takes no packed rows"


def one_step_trainer(method, model, output_dir, *, quiet: bool = True):
    """A trainer of ``method`` on ``model`` for one step of 4 of :func:`prefixed_data`."""
    from accelerate import Accelerator

    from peftctl.config.sections import EvalConfig, TrainConfig
    from peftctl.training.trainer import Trainer

    return Trainer(
        model=method.apply(model),
        method=method,
        train=TrainConfig(max_steps=1, batch_size=4),
        eval=EvalConfig(),
        seed=0,
        train_data=prefixed_data(8),
        eval_data=None,
        pad_id=0,
        output_dir=output_dir,
        accelerator=Accelerator(cpu=True),
        quiet=quiet,
    )


def test_dropout_keeps_packing_but_not_the_shared_prefix(tmp_path):
    def batching(dropout: float) -> str:
        method = LoraMethod(LoraConfig(init="gaussian", dropout=dropout))
        return one_step_trainer(method, tiny_llama(), tmp_path).batching

    assert batching(0.0) == "shared-prefix"
    assert batching(0.1) == "packed"


@pytest.mark.parametrize(
    ("model_type", "overrides"),
    [
        ("mistral", {"head_dim": 8, "sliding_window": 4096}),  # a window longer than any row
        ("gemma2", {"head_dim": 8, "sliding_window": 4096, "attn_logit_softcapping": 5.0}),
        ("qwen3", {"head_dim": 8}),
        ("qwen2", {}),
        ("gemma3_text", {"head_dim": 8, "sliding_window": 4096}),
        ("phi3", {}),  # fused qkv_proj
        ("gpt2", {}),  # Conv1D, learned positions
        ("gpt_neox", {}),  # fused query_key_value, partial rotary
        ("opt", {}),
    ],
)
def test_other_families_pack_with_the_padded_loss_and_gradients(model_type, overrides):
    model = tiny_model(model_type, **overrides)
    if model_type == "gemma2":  # its softcap needs eager attention (5.x's default, not 4.57's)
        model.config._attn_implementation = "eager"
    method = make_method("lora", init="gaussian", target_modules=["role:query", "role:value"])
    model = method.apply(model)
    loss = SparseLMLoss(model, method)
    data, indices = prefixed_data(6), list(range(6))
    assert packing.packing_obstacle(model, method) is None
    padded = _loss_and_grads(loss, model, collate(data, indices, pad_id=0))
    batch = pack(data, indices, 0, eager=packing.is_eager(model))
    with packed_attention(model):
        packed = _loss_and_grads(loss, model, batch.inputs("cpu"))
    torch.testing.assert_close(packed[0], padded[0], rtol=1e-5, atol=1e-6)
    for a, b in zip(packed[2], padded[2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert packing.packing_mismatch(loss, data, 0, "cpu") is None


def test_a_family_outside_the_attention_interface_is_padded_and_says_why():
    method = make_method("lora", target_modules=["role:query", "role:value"])
    model = method.apply(tiny_model("falcon"))
    reason = "falcon's attention does not go through transformers' attention interface"
    assert packing.packing_obstacle(model, method) == reason


def test_a_sliding_window_shorter_than_an_example_is_padded_and_says_why(tmp_path, capsys):
    method = make_method("lora", init="gaussian", target_modules=["q_proj", "v_proj"])
    model = tiny_model("mistral", sliding_window=4)
    trainer = one_step_trainer(method, model, tmp_path, quiet=False)
    assert trainer.batching == "padded"
    reason = trainer.batching_reason
    assert reason.startswith("the model's sliding_window=4 is shorter than an example's context")
    result = trainer.fit()
    assert (result.batching, result.batching_reason) == ("padded", reason)
    assert f"batching: padded, not packed: {reason}" in capsys.readouterr().out
