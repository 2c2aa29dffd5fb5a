"""Contract tests every PEFT method passes, for the core's methods and for plugin packages.

A method's test module is one class::

    from peftctl.testing import MethodContract

    class TestLora(MethodContract):
        method_name = "lora"

Each test builds a tiny random Llama in-process (CPU, fp32, about a second). Importing this
module imports torch and transformers: only tests import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from torch import nn

from peftctl.errors import PeftctlError
from peftctl.methods.base import Method, causal_lm
from peftctl.specs import MethodSpec

TINY_LLAMA = dict(
    vocab_size=100,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
)


def tiny_llama(seed: int = 0) -> nn.Module:
    """A randomly initialised 2-layer Llama (hidden 32); the same ``seed`` gives the same model."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(**TINY_LLAMA))
    return model.eval()


def random_batch(seed: int = 0, batch: int = 3, length: int = 12) -> dict[str, torch.Tensor]:
    """Token ids, a right-padded attention mask (last row shorter) and labels on the tail."""
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, TINY_LLAMA["vocab_size"], (batch, length), generator=g)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[-1, length - 3 :] = 0
    input_ids[attention_mask == 0] = TINY_LLAMA["pad_token_id"]
    labels = input_ids.clone()
    labels[:, : length // 2] = -100
    labels[attention_mask == 0] = -100
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


class MethodContract:
    """Subclass with ``method_name`` set (and ``method_options`` for non-default options)."""

    #: Registered name of the method under test.
    method_name: ClassVar[str]
    #: Recipe ``method.*`` options other than the name, e.g. ``{"r": 4}``.
    method_options: ClassVar[dict[str, Any]] = {}
    #: Trainable parameters on :func:`tiny_llama`, when the test should pin the number.
    expected_trainable: ClassVar[int | None] = None
    #: Learning rate of the test steps: large, so one step visibly changes the outputs.
    lr: ClassVar[float] = 1e-2
    #: Largest |difference| of logits after a save/load round trip.
    roundtrip_atol: ClassVar[float] = 1e-5
    #: Largest |difference| of logits between the merged and the unmerged model.
    merge_atol: ClassVar[float] = 1e-4

    # -- building blocks (override when a method needs something else) ------------------
    def spec(self) -> MethodSpec:
        from peftctl.plugin_manager import get_plugins

        return get_plugins().methods.get(self.method_name)

    def make_method(self) -> Method:
        """A fresh method instance built like a recipe builds it (options validated)."""
        from peftctl.config import typed
        from peftctl.config.recipe import method_config_class

        data = {"name": self.method_name, **self.method_options}
        config = typed.build(method_config_class(self.method_name), data, "method")
        return self.spec().load()(config)

    def base_model(self) -> nn.Module:
        return tiny_llama(seed=0)

    def applied(self) -> tuple[Method, nn.Module]:
        method = self.make_method()
        torch.manual_seed(1)
        return method, method.apply(self.base_model())

    def forward_kwargs(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Extra keyword arguments of the model's own forward (e.g. ``task_ids``)."""
        return {}

    def logits(self, method: Method, model: nn.Module, batch: dict) -> torch.Tensor:
        """Logits of every real token, computed the trainer's way (``method.hidden_states``)."""
        with torch.no_grad():
            hidden = method.hidden_states(model, batch["input_ids"], batch["attention_mask"])
            return causal_lm(model).get_output_embeddings()(hidden).float()

    def train_step(self, method: Method, model: nn.Module, step: int = 1) -> None:
        """One optimiser step of the trainer's loss on a random batch."""
        from peftctl.training.loss import SparseLMLoss

        model.train()
        groups = method.parameter_groups(model, lr=self.lr, weight_decay=0.0)
        optimizer = method.make_optimizer(groups, lr=self.lr)
        loss_sum, n_tokens = SparseLMLoss(model, method)(**random_batch(seed=step))
        penalty = method.regularization(model)
        (loss_sum / n_tokens + (0 if penalty is None else penalty)).backward()
        optimizer.step()
        method.on_step(model, step)
        optimizer.zero_grad(set_to_none=True)
        model.eval()

    def trained(self) -> tuple[Method, nn.Module]:
        method, model = self.applied()
        self.train_step(method, model)
        return method, model

    def reloaded(self, adapter_dir: Path, *, trainable: bool) -> tuple[Method, nn.Module]:
        method = self.make_method()
        model = method.load(self.base_model(), adapter_dir, trainable=trainable)
        return method, model.eval()

    # -- the contract ---------------------------------------------------------------------
    def test_applies_with_trainable_parameters(self) -> None:
        method, model = self.applied()
        trainable = sum(p.numel() for _, p in method.trainable_parameters(model))
        assert trainable > 0
        if self.expected_trainable is not None:
            assert trainable == self.expected_trainable
        total = sum(p.numel() for p in model.parameters())
        assert trainable <= total

    def test_trainable_estimate_is_exact(self) -> None:
        """The config's ``trainable_estimate`` (what ``list-methods`` shows) counts exactly
        what :meth:`Method.trainable_parameters` trains."""
        from peftctl.models.arch import Arch

        method, model = self.applied()
        try:
            arch = Arch.from_hf_config(causal_lm(model).config)
        except AttributeError:
            pytest.skip("the test model is not a Llama-style decoder")
        estimate = method.config.trainable_estimate(arch)
        if estimate is None:
            pytest.skip(f"{type(method.config).__name__} has no trainable_estimate")
        assert estimate == sum(p.numel() for _, p in method.trainable_parameters(model))

    def test_hidden_states_align_with_the_models_forward(self) -> None:
        method, model = self.trained()
        batch = random_batch()
        length = batch["input_ids"].shape[1]
        ours = self.logits(method, model, batch)
        with torch.no_grad():
            plain = model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                **self.forward_kwargs(batch),
            ).logits
        assert ours.shape[:2] == batch["input_ids"].shape
        real = batch["attention_mask"].bool()
        torch.testing.assert_close(ours[real], plain[:, -length:].float()[real], atol=1e-5, rtol=0)

    def test_step_changes_only_trainable_parameters(self) -> None:
        method, model = self.applied()
        trainable = {n for n, _ in method.trainable_parameters(model)}
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        self.train_step(method, model)
        changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
        assert changed, "one optimiser step changed no parameter"
        assert changed <= trainable, f"frozen parameters changed: {sorted(changed - trainable)}"

    def test_save_load_round_trip_gives_identical_logits(self, tmp_path: Path) -> None:
        method, model = self.trained()
        batch = random_batch()
        trained = self.logits(method, model, batch)
        _, fresh = self.applied()
        untrained = self.logits(method, fresh, batch)
        assert not torch.allclose(trained, untrained, atol=self.roundtrip_atol), (
            "the training step did not change the outputs, so the round trip proves nothing"
        )
        method.save(model, tmp_path / "adapter")
        loaded_method, loaded = self.reloaded(tmp_path / "adapter", trainable=False)
        assert not [n for n, p in loaded.named_parameters() if p.requires_grad]
        restored = self.logits(loaded_method, loaded, batch)
        torch.testing.assert_close(restored, trained, atol=self.roundtrip_atol, rtol=0)

    def test_loaded_adapter_trains_further(self, tmp_path: Path) -> None:
        method, model = self.trained()
        batch = random_batch()
        trained = self.logits(method, model, batch)
        method.save(model, tmp_path / "adapter")
        method, model = self.reloaded(tmp_path / "adapter", trainable=True)
        torch.testing.assert_close(
            self.logits(method, model, batch), trained, atol=self.roundtrip_atol, rtol=0
        )
        params = method.trainable_parameters(model)
        assert params, "the adapter loaded with trainable=True has no trainable parameter"
        before = [p.detach().clone() for _, p in params]
        self.train_step(method, model, step=2)
        assert any(not torch.equal(p, old) for (_, p), old in zip(params, before, strict=True))

    def test_merge_matches_or_is_refused(self) -> None:
        method, model = self.trained()
        batch = random_batch()
        if not self.spec().mergeable:
            with pytest.raises(PeftctlError, match=self.method_name):
                method.merge(model)
            return
        expected = self.logits(method, model, batch)
        merged = method.merge(model).eval()
        with torch.no_grad():
            got = merged(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        real = batch["attention_mask"].bool()
        torch.testing.assert_close(
            got.logits.float()[real], expected[real], atol=self.merge_atol, rtol=0
        )

    def test_inference_cost_runs_the_adapted_model(self) -> None:
        """PSCP's FLOP count runs the adapted forward as evaluation does (extra inputs such
        as task ids included); an adapter never costs fewer FLOPs than its base."""
        from peftctl.evaluation.runner import inference_cost

        method, model = self.trained()
        base = inference_cost(self.base_model(), None, seq_len=16)
        assert inference_cost(model.eval(), method, seq_len=16).flops >= base.flops > 0

    def test_evaluation_uses_the_trained_adapter(self, tmp_path: Path) -> None:
        """Greedy generation and rank scores of the reloaded adapter equal the trained model's
        and agree with the trainer's forward pass (a prompt re-initialised on load fails)."""
        from functools import partial

        from peftctl.evaluation.generation import generate
        from peftctl.evaluation.ranking import rank

        prompts = [[5, 6, 7, 8, 9], [10, 11], [12, 13, 14]]
        candidates = [[20, 21], [22], [23, 24, 25]]
        method, model = self.trained()
        method.save(model, tmp_path / "adapter")
        outputs = []
        for m, net in (self.reloaded(tmp_path / "adapter", trainable=False), (method, model)):
            net.eval()
            eos, pad = TINY_LLAMA["eos_token_id"], TINY_LLAMA["pad_token_id"]
            tokens = generate(
                net, prompts, max_new_tokens=3, eos_token_id=eos, pad_token_id=pad,
                batch_size=2, model_kwargs=m.generation_kwargs, same_length=m.changes_sequence,
            )  # fmt: skip
            expected_first = []
            for prompt in prompts:  # one at a time: no padding
                ids = torch.tensor([prompt])
                batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
                expected_first.append(int(self.logits(m, net, batch)[0, -1].argmax()))
            assert [t[0] if t else eos for t in tokens] == expected_first
            full = partial(m.hidden_states, net)
            scores = rank(net, prompts, candidates, pad_token_id=pad, hidden_states=full)
            if not m.changes_sequence:  # the shared-prompt KV cache path gives the same
                cached = rank(net, prompts, candidates, pad_token_id=pad)
                torch.testing.assert_close(
                    torch.tensor(cached), torch.tensor(scores), atol=1e-4, rtol=0
                )
            outputs.append((tokens, scores))
        (loaded_tokens, loaded_scores), (trained_tokens, trained_scores) = outputs
        assert loaded_tokens == trained_tokens
        torch.testing.assert_close(
            torch.tensor(loaded_scores), torch.tensor(trained_scores), atol=1e-4, rtol=0
        )
