"""`method.init_from`: a run keeps training a parent's adapter; its loss picks up where the
parent ended, run.json names the parent, and a parent that does not fit the recipe (method,
options, base model) is one line at `peftctl validate`, before any model loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from peftctl.training.parent import adapter_sha256


def overrides(model_dir: str, out: Path, *extra: str) -> list[str]:
    return [
        f"model.name={model_dir}",
        f"output_dir={out}",
        "dataset.max_train_samples=8",
        "dataset.max_eval_samples=8",
        "dataset.cutoff_len=48",
        "train.batch_size=4",
        "train.lr=5e-2",
        "train.scheduler=constant",
        "train.precision=fp32",
        "eval.load_best=false",  # adapter/ holds the last step: the one the child starts from
        "eval.after_train=false",
        *extra,
    ]


def eval_losses(run: Path) -> dict[int, float]:
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return {r["step"]: r["eval_loss"] for r in records if "eval_loss" in r}


@pytest.mark.parametrize("recipe", ["lora_sst2", "prompt_tuning_sst2"])
def test_child_eval_loss_starts_at_the_parents_final_one(tiny_model_dir, tmp_path, cli, recipe):
    parent, child = tmp_path / "parent", tmp_path / "child"
    argv = overrides(tiny_model_dir, parent, "train.max_steps=3", "train.eval_every=3")
    code, _, err = cli("train", recipe, *argv, "--quiet")
    assert code == 0, err
    before, after = eval_losses(parent)[0], eval_losses(parent)[3]
    assert abs(before - after) > 1e-3, "training did not move the eval loss"

    argv = overrides(tiny_model_dir, child, "train.max_steps=1", "train.eval_every=1")
    code, _, err = cli("train", recipe, *argv, f"method.init_from={parent}", "--quiet")
    assert code == 0, err
    assert eval_losses(child)[0] == pytest.approx(after, rel=1e-6)
    card = json.loads((child / "run.json").read_text())
    assert card["parent"] == {
        "run_dir": str(parent.resolve()),
        "adapter_dir": str((parent / "adapter").resolve()),
        "adapter_sha256": adapter_sha256(parent / "adapter"),
        "adapter_step": 3,
        "final_train_loss": json.loads((parent / "run.json").read_text())["training"][
            "final_train_loss"
        ],
        "final_eval_loss": after,
    }
    assert card["parameters"]["trainable"] > 0
    assert adapter_sha256(child / "adapter") != adapter_sha256(parent / "adapter")


def fake_run(
    folder: Path, method: dict, model: str = "example-org/base", *, finished: bool = True
) -> Path:
    """A run directory: recipe.yaml and (``finished``) a non-empty adapter/."""
    (folder / "adapter").mkdir(parents=True)
    if finished:
        (folder / "adapter" / "adapter_model.safetensors").write_bytes(b"")
    recipe = {"model": {"name": model}, "method": method}
    (folder / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    return folder


def bare_adapter(folder: Path, **config) -> Path:
    folder.mkdir(parents=True)
    base = {"peft_type": "LORA", "r": 8, "target_modules": ["v_proj", "q_proj"]}
    (folder / "adapter_config.json").write_text(json.dumps({**base, **config}))
    return folder


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (
            lambda d: fake_run(d, {"name": "ia3"}),
            [],
            "trained method ia3, this recipe trains lora; set method.name=ia3",
        ),
        (
            lambda d: fake_run(d, {"name": "lora", "r": 16}),
            [],
            "method.r=8 differs from the parent run's r=16",
        ),
        (
            lambda d: fake_run(d, {"name": "lora"}, model="example-org/other"),
            [],
            "was trained on model example-org/other, this recipe trains example-org/base; "
            "set model.name=example-org/other",
        ),
        (
            lambda d: fake_run(d, {"name": "lora"}) / "adapter",
            ["method.r=4"],
            "method.r=4 differs from the parent run's r=8",
        ),
        (lambda d: d / "missing", [], "no such directory"),
        (lambda d: d.mkdir() or d, [], "holds neither a run (recipe.yaml) nor an adapter"),
        (
            lambda d: fake_run(d, {"name": "lora"}, finished=False),
            [],
            "the run has no adapter/ (it did not finish)",
        ),
        (lambda d: bare_adapter(d, r=4), [], "method.r=8 differs from 4 in"),
        (
            lambda d: bare_adapter(d, base_model_name_or_path="example-org/other"),
            [],
            "was trained on model example-org/other",
        ),
    ],
    ids=[
        "method",
        "rank",
        "model",
        "adapter-dir",
        "missing",
        "empty",
        "unfinished",
        "bare-rank",
        "bare-model",
    ],
)
def test_parent_that_does_not_fit_is_one_line_at_validate(tmp_path, cli, make, extra, message):
    parent = make(tmp_path / "parent")
    argv = ["model.name=example-org/base", f"method.init_from={parent}", *extra]
    code, out, err = cli("validate", "lora_sst2", *argv)
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1


@pytest.fixture
def cached_base(tmp_path, monkeypatch) -> str:
    """``example-org/base`` as if downloaded before: a config in a Hugging Face cache (validate
    checks that the model can be had)."""
    import huggingface_hub.constants

    repo = tmp_path / "hf-cache" / "models--example-org--base"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    (repo / "snapshots" / ("0" * 40)).mkdir(parents=True)
    (repo / "snapshots" / ("0" * 40) / "config.json").write_text("{}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(repo.parent))
    return "example-org/base"


def test_role_targets_compare_by_the_modules_they_name(tmp_path, cli, cached_base):
    """lora_sst2 targets role:query,role:value: on a Llama-family base that is q_proj, v_proj,
    whichever way the parent wrote them; a base whose family is unknown leaves it to loading."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"model_type": "llama", "num_hidden_layers": 2}))
    same = fake_run(
        tmp_path / "same", {"name": "lora", "target_modules": ["v_proj", "q_proj"]}, str(base)
    )
    bare = bare_adapter(tmp_path / "bare", base_model_name_or_path=str(base))
    fewer = fake_run(tmp_path / "fewer", {"name": "lora", "target_modules": ["q_proj"]}, str(base))
    bare_fewer = bare_adapter(tmp_path / "bf", target_modules=["q_proj"])
    for parent in (same, bare):
        code, out, err = cli(
            "validate", "lora_sst2", f"model.name={base}", f"method.init_from={parent}"
        )
        assert code == 0 and out.startswith("ok:"), err
    code, out, err = cli("validate", "lora_sst2", f"model.name={base}", f"method.init_from={fewer}")
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert "method.target_modules=[role:query,role:value] differs from the parent run's " in err
    assert err.rstrip().endswith("set method.target_modules=[q_proj]")
    code, _, err = cli(
        "validate", "lora_sst2", f"model.name={base}", f"method.init_from={bare_fewer}"
    )
    assert code == 2 and "set method.target_modules=[q_proj]" in err
    argv = ["model.name=example-org/base", f"method.init_from={bare_fewer}"]
    assert cli("validate", "lora_sst2", *argv)[0] == 0


def test_matching_parents_validate(tmp_path, cli, cached_base):
    run = fake_run(tmp_path / "run", {"name": "lora", "dropout": 0.0})
    bare = bare_adapter(tmp_path / "bare", base_model_name_or_path="example-org/base")
    for parent in (run, run / "adapter", bare):
        code, out, err = cli(
            "validate", "lora_sst2", "model.name=example-org/base", f"method.init_from={parent}"
        )
        assert code == 0 and out.startswith("ok:"), err


def test_adapter_of_another_peft_type_is_refused_after_loading(tiny_model_dir, tmp_path, cli):
    import peft
    from transformers import AutoModelForCausalLM

    config = peft.IA3Config(
        task_type="CAUSAL_LM", target_modules=["q_proj", "v_proj"], feedforward_modules=[]
    )
    model = peft.get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir), config)
    model.save_pretrained(str(tmp_path / "ia3"))
    argv = overrides(tiny_model_dir, tmp_path / "child", "train.max_steps=1")
    code, _, err = cli("train", "lora_sst2", *argv, f"method.init_from={tmp_path / 'ia3'}")
    assert code == 2 and err.count("\n") == 1
    assert "holds a IA3 adapter and method lora trains LORA" in err
