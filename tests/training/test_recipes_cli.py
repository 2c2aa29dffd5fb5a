"""Recipes as a user meets them: validate, list, cp, overrides and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from peftctl_lora.config import LoraConfig

from peftctl.config.recipe import build_recipe, dump_recipe, load_recipe
from peftctl.errors import PeftctlError
from peftctl.plugin_manager import get_plugins
from peftctl.recipes.finder import recipe_index

REPO = Path(__file__).resolve().parents[2]
HEAVY = ["torch", "transformers", "peft", "accelerate", "datasets", "numpy"]


@pytest.mark.parametrize("name", sorted(recipe_index()))
def test_every_shipped_recipe_validates_and_shows_its_command(name):
    path = recipe_index()[name]
    first = path.read_text().splitlines()[0]
    assert first == f"# peftctl train {name}"
    config = load_recipe(name)
    assert f"{config.method.name}_{config.dataset.name}" == name


@pytest.mark.parametrize("name", sorted(n for n in recipe_index() if n.endswith("_sst2")))
def test_every_method_sst2_recipe_scores_after_training(name):
    """Each method's tuned SST-2 recipe ends with a score, as the quickstart's does."""
    assert load_recipe(name).eval.after_train


def test_lora_sst2_resolves_typed_values():
    config = load_recipe("lora_sst2", ["train.lr=1e-4", "method.r=16", "seed=7"])
    assert isinstance(config.method, LoraConfig)
    assert (config.train.lr, config.method.r, config.seed) == (1e-4, 16, 7)
    assert config.method.target_modules == ["role:query", "role:value"]
    assert config.output_dir == "runs/lora_sst2"


def test_defaults_fill_an_empty_recipe():
    config = build_recipe({})
    assert config.method.name == "lora" and config.model.name == "smollm2-135m-instruct"
    assert config.output_dir == "runs/lora_sst2"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.lerning_rate=1"], r"unknown key 'train.lerning_rate'"),
        (["train.lrr=1"], r"unknown key 'train.lrr' \(did you mean 'lr'\?\)"),
        (["trian.lr=1"], r"unknown key 'trian' \(did you mean 'train'\?\)"),
        (["method.rank=4"], r"unknown key 'method.rank'.*'method' accepts: .*r, target_modules"),
        (["method.r=0"], r"method.r=0 is out of range; it must be >= 1"),
        (["method.name=lroa"], r"unknown method 'lroa' \(did you mean 'lora'\?\)"),
        (["dataset.name=sst3"], r"unknown dataset 'sst3' \(did you mean 'sst2'\?\)"),
        (["train.batch_size=eight"], r"train.batch_size='eight' is not an integer"),
        (["train.precision=fp8"], r"train.precision=fp8 is not one of auto, fp32, bf16, fp16"),
        (
            ["train.early_stopping_patience=2", "train.eval_every=0"],
            r"needs periodic evaluation; set train.eval_every",
        ),
        (["train.lr"], r"must look like section.key=value"),
    ],
)
def test_mistakes_are_one_line_errors(overrides, message):
    with pytest.raises(PeftctlError, match=message) as info:
        load_recipe("lora_sst2", overrides)
    assert "\n" not in str(info.value)


def test_resolved_recipe_round_trips(tmp_path):
    config = load_recipe("lora_sst2", ["method.alpha=32"])
    path = tmp_path / "recipe.yaml"
    path.write_text(dump_recipe(config, "peftctl train lora_sst2 method.alpha=32"))
    assert load_recipe(str(path)) == config
    assert yaml.safe_load(path.read_text())["method"]["alpha"] == 32


def test_validate_command(cli):
    code, out, err = cli("validate", "lora_sst2", "train.max_steps=3")
    assert code == 0, err
    assert out.startswith("ok: ") and "method lora" in out
    code, out, err = cli("validate", "lora_sst2", "train.max_step=3")
    assert code == 2 and out == ""
    assert err == (
        "error: unknown key 'train.max_step' (did you mean 'max_steps'?); 'train' accepts: "
        + err.split("accepts: ")[1]
    )
    assert err.count("\n") == 1


def test_validate_never_imports_torch():
    code = (
        "import sys; from peftctl.cli import main\n"
        "try:\n    main(['validate', 'lora_sst2', 'method.r=4', '--show'])\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert "r: 4" in result.stdout


def test_recipes_list_and_cp(tmp_path, cli):
    code, out, _ = cli("recipes", "list", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["lora_sst2"]["command"] == "peftctl train lora_sst2"
    assert (rows["lora_sst2"]["method"], rows["lora_sst2"]["dataset"]) == ("lora", "sst2")

    assert cli("recipes", "cp", "lora_sst2", str(tmp_path))[0] == 0
    copied = tmp_path / "lora_sst2.yaml"
    assert copied.read_text() == recipe_index()["lora_sst2"].read_text()
    code, _, err = cli("recipes", "cp", "lora_sst2", str(copied))
    assert code == 2 and "exists; pass --force" in err
    code, _, err = cli("recipes", "cp", "lora_sst", str(tmp_path / "x.yaml"))
    assert code == 2 and "did you mean 'lora_sst2'" in err


def test_a_recipe_path_works_like_a_name(tmp_path, cli):
    path = tmp_path / "mine.yaml"
    path.write_text("method:\n  name: lora\n  r: 2\ntrain:\n  lr: 1e-3\n")
    config = load_recipe(str(path))
    assert (config.method.r, config.train.lr) == (2, 1e-3)
    code, _, err = cli("validate", str(tmp_path / "missing.yaml"))
    assert code == 2 and "does not exist" in err
    path.write_text("train:\n  lr: [1\n")
    with pytest.raises(PeftctlError, match=r"mine.yaml:\d+: .*fix the YAML syntax"):
        load_recipe(str(path))


def test_plugin_recipe_dirs_are_searched(tmp_path, monkeypatch):
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "lora_cola.yaml").write_text("# peftctl train lora_cola\ndataset:\n  name: sst2\n")
    plugin = tmp_path / "myrecipes.py"
    plugin.write_text(
        "from peftctl import hookimpl\n"
        f"@hookimpl\ndef peftctl_recipe_dirs():\n    return [{str(folder)!r}]\n"
    )
    monkeypatch.setenv("PEFTCTL_PLUGIN_PATH", str(plugin))
    get_plugins.cache_clear()
    assert recipe_index()["lora_cola"] == folder / "lora_cola.yaml"
    assert "lora_sst2" in recipe_index()


def test_an_empty_recipe_file_is_an_error_not_a_default_run(tmp_path, cli):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n")
    code, out, err = cli("validate", str(path))
    assert code == 2 and out == ""
    assert err == (
        f"error: recipe {path} is empty; start from a shipped one: peftctl recipes cp "
        f"lora_sst2 {path} --force\n"
    )


@pytest.mark.parametrize("alias", ["validation", "dev", "val", "eval"])
def test_hub_split_names_are_aliases_of_eval(alias):
    assert build_recipe({}, [f"eval.split={alias}"]).eval.split == "eval"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["dataset.metrics=[acuracy]"], "unknown metric 'acuracy' (did you mean 'accuracy'?)"),
        (
            ["dataset.name=svamp", "eval.mode=rank"],
            "eval.mode=rank needs a classification dataset and svamp is generation; "
            "use eval.mode=generate",
        ),
    ],
)
def test_validate_catches_what_train_would_reject_later(overrides, message):
    with pytest.raises(PeftctlError) as error:
        build_recipe({}, overrides)
    assert message in str(error.value)
