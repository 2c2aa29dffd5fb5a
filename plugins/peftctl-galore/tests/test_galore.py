"""The contract kit over GaLore, and what is specific to it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from galore_torch.galore_projector import GaLoreProjector

from peftctl.api import DEFAULT_ARCH, PeftctlError
from peftctl.testing import (
    TINY_LLAMA,
    MethodContract,
    fit,
    make_method,
    random_batch,
    shipped_recipe,
    tiny_llama,
    token_loss,
)

OPTIONS = {"rank": 4, "update_proj_gap": 2}
# tiny_llama's decoder linears, 2 layers: q, o 32x32; k, v 16x32; gate, up 64x32; down 32x64
ADAFACTOR_FULL = {**OPTIONS, "optimizer": "adafactor", "train_rest": True}
LINEAR_WEIGHTS = 2 * (2 * 32 * 32 + 2 * 16 * 32 + 3 * 64 * 32)


class TestGalore(MethodContract):
    method_name = "galore"
    method_options = OPTIONS
    expected_trainable = LINEAR_WEIGHTS


class TestGaloreAdafactorFullModel(MethodContract):
    method_name = "galore"
    method_options = ADAFACTOR_FULL


def make(**options):
    return make_method("galore", **options)


def step(method, model, optimizer, seed: int) -> None:
    model.train()
    token_loss(method, model, random_batch(seed=seed)).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def setup(**options):
    method = make(**{**OPTIONS, **options})
    model = method.apply(tiny_llama())
    groups = method.parameter_groups(model, lr=1e-2, weight_decay=0.0)
    return method, model, method.make_optimizer(groups, lr=1e-2)


def test_groups_project_exactly_the_linear_weights():
    method, model, _ = setup()
    groups = method.parameter_groups(model, lr=1e-3, weight_decay=0.1)
    assert len(groups) == 1
    (group,) = groups
    assert (group["rank"], group["update_proj_gap"], group["scale"], group["proj_type"]) == (
        4,
        2,
        4.0,
        "std",
    )
    names = {id(p): n for n, p in model.named_parameters()}
    projected = sorted(names[id(p)] for p in group["params"])
    assert len(projected) == 14 and all(n.endswith("_proj.weight") for n in projected)


def test_train_rest_adds_plain_groups_for_embeddings_and_norms():
    method, model, _ = setup(train_rest=True)
    groups = method.parameter_groups(model, lr=1e-3, weight_decay=0.1)
    plain = [g for g in groups if "rank" not in g]
    assert [g["weight_decay"] for g in plain] == [0.1, 0.0]
    trained = sum(p.numel() for g in groups for p in g["params"])
    assert trained == sum(p.numel() for p in model.parameters())


def test_target_modules_select_layers_and_unknown_ones_fail():
    method, model, _ = setup(target_modules=["down_proj"])
    assert {n.split(".")[-2] for n, _ in method.trainable_parameters(model)} == {"down_proj"}
    with pytest.raises(PeftctlError, match="matches no linear layer"):
        make(target_modules=["nope"]).apply(tiny_llama())


@pytest.mark.parametrize("proj_type", ["std", "left", "right", "full"])
def test_each_weight_update_has_at_most_the_projection_rank(proj_type):
    method, model, optimizer = setup(proj_type=proj_type)
    before = {n: p.detach().clone() for n, p in method.trainable_parameters(model)}
    step(method, model, optimizer, seed=1)
    for name, param in method.trainable_parameters(model):
        update = param.detach() - before[name]
        assert 0 < int(torch.linalg.matrix_rank(update)) <= 4, name
    exp_avg = [s["exp_avg"] for s in optimizer.state.values()]
    assert exp_avg and all(4 in tuple(m.shape) for m in exp_avg)  # the state is low-rank


def test_optimizer_state_reloads_with_weights_only_and_continues_identically():
    """A checkpoint (accelerate loads it with weights_only=True) restores the projectors:
    two steps, save, reload into a fresh optimiser, two more steps == four straight steps.
    update_proj_gap=3, so the third step uses the restored projection."""
    straight_method, straight, optimizer = setup(update_proj_gap=3)
    for seed in range(4):
        step(straight_method, straight, optimizer, seed)

    method, model, optimizer = setup(update_proj_gap=3)
    for seed in range(2):
        step(method, model, optimizer, seed)
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    assert any(isinstance(s.get("projector"), GaLoreProjector) for s in optimizer.state.values())
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    groups = method.parameter_groups(model, lr=1e-2, weight_decay=0.0)
    resumed = method.make_optimizer(groups, lr=1e-2)
    resumed.load_state_dict(saved)
    for seed in range(2, 4):
        step(method, model, resumed, seed)
    for (name, expected), (_, got) in zip(
        straight_method.trainable_parameters(straight),
        method.trainable_parameters(model),
        strict=True,
    ):
        torch.testing.assert_close(got, expected, atol=0, rtol=0, msg=name)


def test_trainer_checkpoint_resumes_to_the_same_weights(tmp_path):
    """The trainer's own checkpoints (accelerate save_state/load_state) with GaLore's state."""
    g = torch.Generator().manual_seed(1)
    ids = [
        torch.randint(3, TINY_LLAMA["vocab_size"], (12,), generator=g).tolist() for _ in range(16)
    ]
    labels = [[-100] * 9 + x[-3:] for x in ids]

    def run(out: Path, resume_from: Path | None = None):
        method = make(**{**OPTIONS, "update_proj_gap": 3})
        model = method.apply(tiny_llama())
        fit(
            method, model, ids, labels, out, resume_from=resume_from,
            max_steps=4, batch_size=4, lr=1e-2, save_every=2,
        )  # fmt: skip
        return dict(method.trainable_parameters(model))

    straight = run(tmp_path / "a")
    resumed = run(tmp_path / "b", resume_from=tmp_path / "a" / "checkpoints" / "step-00000002")
    for name, param in straight.items():
        torch.testing.assert_close(resumed[name], param, atol=0, rtol=0, msg=name)


def test_unsupported_variants_fail_clearly():
    with pytest.raises(PeftctlError, match="layerwise=true is not supported"):
        make(layerwise=True)
    if not torch.cuda.is_available():
        with pytest.raises(PeftctlError, match="adamw8bit needs a CUDA GPU"):
            make(optimizer="adamw8bit").apply(tiny_llama())


def test_recipe_is_shipped_and_valid():
    recipe = shipped_recipe("galore_sst2")
    assert recipe.command == "peftctl train galore_sst2"
    assert recipe.config.method.name == "galore" and recipe.config.method.rank > 0


def test_trainable_estimates_on_the_default_model():
    """list-methods' figures; 106,168,320 is what a galore run on SmolLM2-135M trains."""
    assert make().config.trainable_estimate(DEFAULT_ARCH) == 106_168_320
    assert make(train_rest=True).config.trainable_estimate(DEFAULT_ARCH) == (
        DEFAULT_ARCH.total_params()
    )
    assert make(target_modules=["nope"]).config.trainable_estimate(DEFAULT_ARCH) is None
