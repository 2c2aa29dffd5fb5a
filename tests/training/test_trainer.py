"""The training loop on a tiny model: resume, accumulation, NaN, eval, best checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from peftctl_lora.config import LoraConfig
from peftctl_lora.method import LoraMethod
from safetensors.torch import load_file

from peftctl.config.sections import EvalConfig, TrainConfig
from peftctl.testing import tiny_llama
from peftctl.training import checkpoint as ckpt
from peftctl.training.trainer import Trainer, TrainingDiverged
from tests.training.tiny import VOCAB, token_data


def make_trainer(out: Path, *, eval_data=True, **train) -> tuple[Trainer, torch.nn.Module]:
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    method = LoraMethod(LoraConfig(init="gaussian"))
    model = method.apply(tiny_llama(vocab_size=VOCAB))
    options = {"max_steps": 10, "batch_size": 4, "lr": 5e-3, **train}
    trainer = Trainer(
        model=model,
        method=method,
        train=TrainConfig(**options),
        eval=EvalConfig(batch_size=8),
        seed=0,
        train_data=token_data(48),
        eval_data=token_data(16, seed=7) if eval_data else None,
        pad_id=0,
        output_dir=out,
        accelerator=Accelerator(cpu=True),
        quiet=True,
    )
    return trainer, model


def trainable(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


class StopAfter(Exception):
    pass


def test_resume_after_a_kill_gives_bit_identical_weights(tmp_path, monkeypatch):
    straight, model_a = make_trainer(tmp_path / "a", grad_accum=2, warmup_ratio=0.2)
    straight.fit()
    expected = trainable(model_a)

    interrupted, _ = make_trainer(tmp_path / "b", grad_accum=2, warmup_ratio=0.2, save_every=5)
    original = Trainer.save_checkpoint

    def save_then_die(self):
        path = original(self)
        raise StopAfter(path)

    monkeypatch.setattr(Trainer, "save_checkpoint", save_then_die)
    with pytest.raises(StopAfter):
        interrupted.fit()
    monkeypatch.setattr(Trainer, "save_checkpoint", original)
    latest = ckpt.latest_checkpoint(tmp_path / "b" / "checkpoints")
    assert latest is not None and latest.name == "step-00000005"

    resumed, model_b = make_trainer(tmp_path / "b", grad_accum=2, warmup_ratio=0.2, save_every=5)
    result = resumed.fit(resume_from=latest)
    assert result.steps == 10
    for name, value in trainable(model_b).items():
        assert torch.equal(value, expected[name]), name  # bit-identical on CPU fp32
    log = [json.loads(line) for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == list(range(1, 11))


def test_gradient_accumulation_matches_one_big_batch(tmp_path):
    big, model_big = make_trainer(tmp_path / "big", eval_data=False, batch_size=8, max_steps=3)
    big.fit()
    small, model_small = make_trainer(
        tmp_path / "small", eval_data=False, batch_size=4, grad_accum=2, max_steps=3
    )
    small.fit()
    # same examples per step (the plan splits one permutation), different summation order
    for name, value in trainable(model_small).items():
        torch.testing.assert_close(value, trainable(model_big)[name], rtol=1e-4, atol=1e-6)


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    trainer, _ = make_trainer(tmp_path, save_every=3)
    forward = type(trainer.loss_module).forward
    calls = {"n": 0}

    def poisoned(self, **batch):
        calls["n"] += 1
        loss_sum, n = forward(self, **batch)
        return (loss_sum * float("nan"), n) if calls["n"] > 4 else (loss_sum, n)

    monkeypatch.setattr(type(trainer.loss_module), "forward", poisoned)
    with pytest.raises(TrainingDiverged, match=r"became nan at step 5; the last good checkpoint"):
        trainer.fit()
    latest = ckpt.latest_checkpoint(tmp_path / "checkpoints")
    assert latest is not None and latest.name == "step-00000003"
    weights = load_file(str(latest / ckpt.TRAINABLE_FILE))
    assert all(torch.isfinite(t).all() for t in weights.values())


def test_eval_keeps_the_best_adapter_and_stops_early(tmp_path):
    trainer, _ = make_trainer(
        tmp_path, max_steps=40, lr=0.3, eval_every=2, early_stopping_patience=2
    )  # a huge lr overshoots: eval loss stops improving
    result = trainer.fit()
    assert result.stopped_early and result.steps < 40
    assert result.best_eval_loss <= result.final_eval_loss
    assert result.adapter_step == result.best_step
    best = load_file(str(tmp_path / "checkpoints" / "best" / "adapter_model.safetensors"))
    adapter = load_file(str(tmp_path / "adapter" / "adapter_model.safetensors"))
    assert best.keys() == adapter.keys()
    assert all(torch.equal(best[k], adapter[k]) for k in best)
    evals = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert min(r["eval_loss"] for r in evals if "eval_loss" in r) == result.best_eval_loss


def test_training_lowers_the_eval_loss(tmp_path):
    trainer, _ = make_trainer(tmp_path, max_steps=30, lr=1e-2, eval_every=10)
    result = trainer.fit()
    evals = [r for r in trainer.state.log if "eval_loss" in r]
    assert [r["step"] for r in evals] == [0, 10, 20, 30]
    assert evals[-1]["eval_loss"] < evals[0]["eval_loss"]
    assert result.tokens > 0 and result.tokens_per_second > 0


def test_checkpoints_are_pruned_and_hold_only_trainable_weights(tmp_path, monkeypatch):
    trainer, model = make_trainer(tmp_path, save_every=2, keep_checkpoints=2, eval_data=False)
    trainer.fit()
    names = [p.name for _, p in ckpt.list_checkpoints(tmp_path / "checkpoints")]
    assert names == ["step-00000008", "step-00000010"]
    saved = load_file(str(tmp_path / "checkpoints" / names[-1] / ckpt.TRAINABLE_FILE))
    assert saved.keys() == trainable(model).keys()
    assert not list((tmp_path / "checkpoints").glob(".*"))


def test_the_method_builds_the_optimizer(tmp_path, monkeypatch):
    """``Method.make_optimizer`` replaces the default AdamW (GaLore's optimiser needs it)."""
    default, _ = make_trainer(tmp_path / "default", eval_data=False, max_steps=1)
    assert type(default.optimizer.optimizer) is torch.optim.AdamW
    built: list[torch.optim.Optimizer] = []

    def sgd(self, groups, *, lr):
        built.append(torch.optim.SGD(groups, lr=lr))
        return built[-1]

    monkeypatch.setattr(LoraMethod, "make_optimizer", sgd)
    trainer, model = make_trainer(
        tmp_path / "sgd", eval_data=False, max_steps=1, warmup_ratio=0.0, max_grad_norm=0.0
    )
    assert trainer.optimizer.optimizer is built[0]
    before = trainable(model)
    trainer.fit()
    changed = [n for n, p in trainable(model).items() if not torch.equal(p, before[n])]
    assert changed and built[0].state == {}  # SGD without momentum keeps no state; AdamW would
