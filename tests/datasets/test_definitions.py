"""Your own datasets in YAML: paths beside the file, definitions registered by name."""

from __future__ import annotations

import json

import pytest
import yaml

from peftctl.config.recipe import load_recipe

REVIEWS = {
    "template": "Review: {review}",
    "target": "stars",
    "verbalizer": {0: "negative", 1: "positive"},
    "split_from": "train",
}


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """tmp/data/train.jsonl, tmp/defs/reviews.yaml (path relative to it), cwd elsewhere."""
    (tmp_path / "data").mkdir()
    rows = [{"review": f"film {i}", "stars": i % 2} for i in range(20)]
    (tmp_path / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "defs").mkdir()
    definition = {"name": "reviews", "path": "../data/train.jsonl", **REVIEWS}
    (tmp_path / "defs" / "reviews.yaml").write_text(yaml.safe_dump(definition))
    monkeypatch.chdir(tmp_path.parent)
    return tmp_path


def test_relative_paths_in_a_recipe_resolve_beside_the_recipe(folder):
    recipe = folder / "recipes" / "mine.yaml"
    recipe.parent.mkdir()
    recipe.write_text(yaml.safe_dump({"dataset": {"path": "../data/train.jsonl", **REVIEWS}}))
    config = load_recipe(str(recipe))
    assert config.dataset.path == str(folder / "recipes" / ".." / "data" / "train.jsonl")
    assert config.dataset.name == "train"


def test_a_relative_path_on_the_command_line_is_relative_to_the_current_folder(folder, cli):
    code, _, err = cli(
        "validate",
        "lora_sst2",
        "dataset.path=data/train.jsonl",
        "dataset.template=Review: {review}",
        "dataset.target=stars",
    )
    assert code == 2 and "dataset.path=data/train.jsonl: no such file" in err


def test_definitions_on_the_datasets_path_register_by_name(folder, cli, monkeypatch):
    monkeypatch.setenv("PEFTCTL_DATASETS_PATH", str(folder / "defs"))
    code, out, _ = cli("list-datasets", "--json")
    (row,) = [r for r in json.loads(out) if r["name"] == "reviews"]
    assert row["task"] == "classification" and "defined in" in row["summary"]
    config = load_recipe("lora_sst2", ["dataset.name=reviews", "dataset.split_ratio=0.5"])
    assert config.dataset.path == str(folder / "defs" / ".." / "data" / "train.jsonl")
    assert config.dataset.split_ratio == 0.5 and config.dataset.template == "Review: {review}"
    code, out, err = cli("show-dataset", "reviews", "-n", "1")
    assert code == 0, err
    assert "reviews (classification" in out and "Review: film" in out


def test_show_dataset_reads_a_definition_or_recipe_file(folder, cli):
    code, out, err = cli("show-dataset", str(folder / "defs" / "reviews.yaml"), "-s", "train")
    assert code == 0, err
    assert out.startswith("reviews (classification, classes: negative / positive")
    assert "train = train: 16 examples" in out


def test_a_broken_definition_is_a_warning_and_hides_nothing(folder, cli, monkeypatch):
    (folder / "defs" / "broken.yaml").write_text("path: nope.jsonl\ntemplate: '{x}'\ntarget: y\n")
    (folder / "defs" / "sst2.yaml").write_text(
        yaml.safe_dump({"path": "../data/train.jsonl", **REVIEWS})
    )
    monkeypatch.setenv("PEFTCTL_DATASETS_PATH", str(folder / "defs"))
    code, out, err = cli("list-datasets", "--json")
    names = {r["name"] for r in json.loads(out)}
    assert code == 0 and {"reviews", "sst2", "rte"} <= names and "broken" not in names
    assert "broken.yaml skipped: dataset.path=" in err and "no such file" in err
    assert "sst2.yaml skipped: 'sst2' is a built-in dataset" in err


def test_zero_shot_eval_of_a_definition_file(folder, cli, tiny_model_dir):
    definition = str(folder / "defs" / "reviews.yaml")
    code, out, err = cli("eval", "--model", tiny_model_dir, "--dataset", definition, "--limit", "3")
    assert code == 0, err
    assert "reviews eval (generate mode)" in out
