"""Contract tests every PEFT method passes, for the core's methods and for plugin packages,
and the helpers a plugin's own tests use (a plugin's tests import from here and from
:mod:`peftctl.api` only).

A method's test module is one class::

    from peftctl.testing import MethodContract

    class TestLora(MethodContract):
        method_name = "lora"

Each test builds :func:`tiny_llama` in-process (CPU, fp32, about a second). Every failing
check says what was expected and what it got. Importing this module imports torch and
transformers: only tests import it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from torch import nn

from peftctl.api import Method, MethodSpec, PeftctlError, causal_lm, lm_logits
from peftctl.facts.arch import TINY_LLAMA  # the kit's model shapes, also read without torch


def tiny_llama(seed: int = 0, **overrides: Any) -> nn.Module:
    """A randomly initialised Llama of :data:`TINY_LLAMA`'s shapes (``overrides`` change
    them, e.g. ``hidden_size=128``), in eval mode; the same ``seed`` gives the same model."""
    return tiny_model("llama", seed, **overrides)


#: families laid out as Llama (separate q/k/v/o and gate/up/down projections without biases,
#: RMS norms): a method takes the same code path on each, so :func:`family_cases` samples them
LLAMA_SHAPED = frozenset({"llama", "mistral", "qwen3", "gemma", "gemma2", "gemma3_text"})
#: set to 1 for every (family, method) pair of a matrix (``nox -s families``)
FULL_MATRIX_ENV = "PEFTCTL_FULL_MATRIX"


def family_cases(
    methods: Sequence[str], families: Sequence[str], sampled: int = 2
) -> list[tuple[str, str]]:
    """``(family, method)`` pairs of a per-family test matrix: every method on each family
    whose layout differs from Llama's (fused or Conv1D projections, biases, layer norms), and
    on ``sampled`` of the Llama-shaped ones, in turn, so each of those is still run by several
    methods. Every pair when ``PEFTCTL_FULL_MATRIX=1``."""
    if os.environ.get(FULL_MATRIX_ENV) == "1":
        return [(family, method) for family in families for method in methods]
    shaped = [family for family in families if family in LLAMA_SHAPED]
    cases = []
    for index, method in enumerate(methods):
        picked = {shaped[(index * sampled + k) % len(shaped)] for k in range(sampled) if shaped}
        cases += [(f, method) for f in families if f not in LLAMA_SHAPED or f in picked]
    return cases


def tiny_model(model_type: str, seed: int = 0, **overrides: Any) -> nn.Module:
    """A randomly initialised causal LM of any family (``model_type`` as in a transformers
    config: ``mistral``, ``qwen2``, ``gemma2``, ``phi3``, ``gpt2``, ``gpt_neox``, ...) with
    :data:`TINY_LLAMA`'s shapes where its config has them (GPT-2 has no key/value heads or
    ``intermediate_size``: its own defaults hold) and ``overrides``, in eval mode; the same
    ``seed`` gives the same model."""
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(seed)
    known = AutoConfig.for_model(model_type)
    shapes = {key: value for key, value in TINY_LLAMA.items() if hasattr(known, key)}
    config = AutoConfig.for_model(model_type, **{**shapes, **overrides})
    return AutoModelForCausalLM.from_config(config).eval()


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


def method_spec(name: str) -> MethodSpec:
    """The registered record of method ``name``."""
    from peftctl.plugin_manager import get_plugins

    return get_plugins().methods.get(name)


def make_method(name: str, **options: Any) -> Method:
    """Method ``name`` with recipe ``method.*`` ``options``, built as a recipe builds it
    (options typed, range-checked and validated)."""
    from peftctl.config.recipe import method_config_class

    config = method_config_class(name).from_options({"name": name, **options})
    return method_spec(name).load()(config)


def token_loss(method: Method, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The trainer's mean token loss of ``batch`` (labels -100 are not scored)."""
    from peftctl.training.loss import SparseLMLoss

    loss_sum, n_tokens = SparseLMLoss(model, method)(**batch)
    return loss_sum / n_tokens


def inference_flops(model: nn.Module, method: Method | None, seq_len: int = 16) -> float:
    """FLOPs of one forward pass of ``seq_len`` tokens, as PSCP measures them."""
    from peftctl.evaluation.runner import inference_cost

    return inference_cost(model, method, seq_len=seq_len).flops


def parameter_counts(model: nn.Module) -> dict[str, Any]:
    """The run card's ``trainable``/``total`` counts (4-bit weights at their logical shape)."""
    from peftctl.training.outputs import parameter_counts as counts

    return counts(model)


@dataclass(frozen=True)
class ShippedRecipe:
    """A recipe a plugin ships: its file, the command its opening comment shows, its config."""

    path: Path
    command: str
    config: Any


def shipped_recipe(name: str) -> ShippedRecipe:
    """The installed recipe ``name`` (from the plugins' recipe directories), loaded."""
    from peftctl.config.recipe import load_recipe
    from peftctl.recipes.finder import first_comment_command, recipe_index

    index = recipe_index()
    assert name in index, f"recipe {name!r} is not installed; recipes found: {sorted(index)}"
    path = Path(index[name])
    return ShippedRecipe(path, first_comment_command(path), load_recipe(name))


def fit(
    method: Method,
    model: nn.Module,
    token_ids: list[list[int]],
    labels: list[list[int]],
    output_dir: Path,
    *,
    resume_from: Path | None = None,
    **train: Any,
) -> None:
    """Train ``model`` with peftctl's trainer on CPU (``train``: ``train.*`` options such as
    ``max_steps``, ``save_every``); checkpoints go to ``output_dir/checkpoints``."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    from peftctl.config.sections import EvalConfig, TrainConfig
    from peftctl.training.batching import TokenData
    from peftctl.training.trainer import Trainer

    AcceleratorState._reset_state(reset_partial_state=True)
    trainer = Trainer(
        model=model, method=method, seed=0, train_data=TokenData(token_ids, labels),
        eval_data=None, pad_id=TINY_LLAMA["pad_token_id"], train=TrainConfig(**train),
        eval=EvalConfig(), output_dir=output_dir, accelerator=Accelerator(cpu=True), quiet=True,
    )  # fmt: skip
    trainer.fit(resume_from=resume_from)


def train_step(method: Method, model: nn.Module, *, lr: float = 1e-2, step: int = 1) -> None:
    """One optimiser step of the trainer's loss (and the method's penalty) on a random batch,
    then ``on_step``; the model is left in eval mode."""
    model.train()
    groups = method.parameter_groups(model, lr=lr, weight_decay=0.0)
    optimizer = method.make_optimizer(groups, lr=lr)
    loss = token_loss(method, model, random_batch(seed=step))
    penalty = method.regularization(model)
    (loss + (0 if penalty is None else penalty)).backward()
    optimizer.step()
    method.on_step(model, step)
    optimizer.zero_grad(set_to_none=True)
    model.eval()


def trained_method(
    name: str, model: nn.Module | None = None, *, lr: float = 1e-2, **options: Any
) -> tuple[Method, nn.Module]:
    """Method ``name`` (``options`` as recipe keys) applied to ``model`` (default
    :func:`tiny_llama`) after one :func:`train_step`: ``(method, adapted model)``."""
    method = make_method(name, **options)
    adapted = method.apply(tiny_llama() if model is None else model)
    train_step(method, adapted, lr=lr)
    return method, adapted


def masked_logits(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The model's own forward logits at the attended positions of ``batch``, without grad."""
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    return out.logits[batch["attention_mask"].bool()]


def assert_logits_close(got: torch.Tensor, expected: torch.Tensor, atol: float, what: str):
    """``torch.testing.assert_close`` with ``what`` and the largest difference in the message."""
    torch.testing.assert_close(
        got, expected, atol=atol, rtol=0, msg=lambda default: f"{what}: {default}"
    )


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
        return method_spec(self.method_name)

    def make_method(self) -> Method:
        """A fresh method instance built like a recipe builds it (options validated)."""
        return make_method(self.method_name, **self.method_options)

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
            return lm_logits(model, hidden).float()

    def train_step(self, method: Method, model: nn.Module, step: int = 1) -> None:
        """One optimiser step of the trainer's loss on a random batch."""
        train_step(method, model, lr=self.lr, step=step)

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
        assert trainable > 0, "apply() left no trainable parameter"
        if self.expected_trainable is not None:
            assert trainable == self.expected_trainable, (
                f"trainable parameters: expected {self.expected_trainable}, got {trainable}"
            )
        total = sum(p.numel() for p in model.parameters())
        assert trainable <= total, f"{trainable} trainable parameters but {total} in the model"

    def test_trainable_estimate_is_exact(self) -> None:
        """The config's ``trainable_estimate`` (what ``list-methods`` shows) counts exactly
        what :meth:`Method.trainable_parameters` trains."""
        from peftctl.facts.arch import Arch

        method, model = self.applied()
        try:
            arch = Arch.from_hf_config(causal_lm(model).config)
        except AttributeError:
            pytest.skip("the test model is not a Llama-style decoder")
        estimate = method.config.trainable_estimate(arch)
        if estimate is None:
            pytest.skip(f"{type(method.config).__name__} has no trainable_estimate")
        actual = sum(p.numel() for _, p in method.trainable_parameters(model))
        assert estimate == actual, (
            f"{type(method.config).__name__}.trainable_estimate gives {estimate}, but "
            f"{actual} parameters train"
        )

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
        assert ours.shape[:2] == batch["input_ids"].shape, (
            f"hidden_states gives logits of shape {tuple(ours.shape)}; expected "
            f"[batch, seq] = {tuple(batch['input_ids'].shape)} first"
        )
        real = batch["attention_mask"].bool()
        expected = plain[:, -length:].float()[real]
        assert_logits_close(ours[real], expected, 1e-5, "hidden_states vs the model's forward")

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
        still = [n for n, p in loaded.named_parameters() if p.requires_grad]
        assert not still, f"load(trainable=False) left parameters trainable: {still[:3]}"
        restored = self.logits(loaded_method, loaded, batch)
        assert_logits_close(restored, trained, self.roundtrip_atol, "after save and load")

    def test_loaded_adapter_trains_further(self, tmp_path: Path) -> None:
        method, model = self.trained()
        batch = random_batch()
        trained = self.logits(method, model, batch)
        method.save(model, tmp_path / "adapter")
        method, model = self.reloaded(tmp_path / "adapter", trainable=True)
        assert_logits_close(
            self.logits(method, model, batch), trained, self.roundtrip_atol, "loaded trainable"
        )
        params = method.trainable_parameters(model)
        assert params, "the adapter loaded with trainable=True has no trainable parameter"
        before = [p.detach().clone() for _, p in params]
        self.train_step(method, model, step=2)
        changed = [not torch.equal(p, old) for (_, p), old in zip(params, before, strict=True)]
        assert any(changed), "a training step after load(trainable=True) changed no parameter"

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
        assert_logits_close(
            got.logits.float()[real], expected[real], self.merge_atol, "merged vs adapted"
        )

    def test_inference_cost_runs_the_adapted_model(self) -> None:
        """PSCP's FLOP count runs the adapted forward as evaluation does (extra inputs such
        as task ids included); an adapter never costs fewer FLOPs than its base."""
        method, model = self.trained()
        base = inference_flops(self.base_model(), None)
        adapted = inference_flops(model.eval(), method)
        assert adapted >= base > 0, f"adapted model: {adapted} FLOPs, base model: {base}"

    def greedy_without_cache(
        self, method: Method, model: nn.Module, prompt: list[int], steps: int, eos: int
    ) -> list[int]:
        """Greedy tokens after ``prompt`` (up to eos), each from the trainer's forward pass
        over the whole sequence so far: no cache, no padding."""
        sequence: list[int] = list(prompt)
        for _ in range(steps):
            ids = torch.tensor([sequence])
            batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
            token = int(self.logits(method, model, batch)[0, -1].argmax())
            if token == eos:
                break
            sequence.append(token)
        return sequence[len(prompt) :]

    def test_evaluation_uses_the_trained_adapter(self, tmp_path: Path) -> None:
        """Greedy generation and rank scores of the reloaded adapter equal the trained model's
        and agree with the trainer's forward pass, every generated token (a prompt
        re-initialised on load fails, so does a cache that loses the prompt)."""
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
            expected = [self.greedy_without_cache(m, net, p, 3, eos) for p in prompts]
            assert tokens == expected, (
                f"generated {tokens}, but hidden_states' argmax over the whole sequence at each "
                f"step gives {expected}"
            )
            full = partial(m.hidden_states, net)
            scores = rank(net, prompts, candidates, pad_token_id=pad, hidden_states=full)
            if not m.changes_sequence:  # the shared-prompt KV cache path gives the same
                cached = rank(net, prompts, candidates, pad_token_id=pad)
                assert_logits_close(
                    torch.tensor(cached), torch.tensor(scores), 1e-4, "cached vs full rank scores"
                )
            outputs.append((tokens, scores))
        (loaded_tokens, loaded_scores), (trained_tokens, trained_scores) = outputs
        assert loaded_tokens == trained_tokens, (
            f"generation after reload {loaded_tokens}, trained model {trained_tokens}"
        )
        assert_logits_close(
            torch.tensor(loaded_scores), torch.tensor(trained_scores), 1e-4, "rank scores"
        )
