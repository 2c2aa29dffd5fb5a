"""Bench specs: checked like recipes (one line, exit 2), expanded into cells with stable ids."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from peftctl.bench.cells import expand
from peftctl.bench.spec import build_spec, load_spec
from peftctl.errors import PeftctlError

BASE = {"methods": ["lora"], "datasets": ["sst2"], "budget": {"max_steps": 5}}


def spec_file(tmp_path, **changes):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({**BASE, **changes}))
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"methods": []}, "methods: list at least one method"),
        ({"datasets": []}, "datasets: list at least one dataset"),
        ({"seeds": [0, 0]}, "repeats a seed"),
        ({"budget": {"max_steps": 5, "epochs": 2}}, "exactly one of budget.max_steps"),
        ({"budget": {"max_steps": 0}}, "exactly one of budget.max_steps"),
        ({"budget": {"tokens": 5}}, "unknown key 'budget.tokens'"),
        ({"train": {"max_steps": 3}}, "set the budget with budget.max_steps"),
        ({"train": {"seed": 3}}, "train.seed is set by the bench"),
        ({"methods": ["lroa"]}, "unknown method 'lroa' (did you mean 'lora'?)"),
        ({"methods": [{"name": "lora", "rr": 4}]}, "unknown key 'method.rr'"),
        ({"methods": [{"name": "ia3", "lr": [0.01, 0.01]}]}, "repeats a value"),
        ({"methods": [{"name": "ia3", "lr": "fast"}]}, "methods[0].lr='fast' is not a number"),
        ({"methods": ["lora", "lora"]}, "'lora' appears twice; tell them apart with label"),
        ({"methods": [{"lr": 0.1}]}, "methods[0] must be a name or a mapping with a name"),
        ({"datasets": ["sst3"]}, "unknown dataset 'sst3'"),
        ({"datasets": ["svamp"], "eval": {"mode": "rank"}}, "rank needs a classification"),
        ({"dataset": {"max_eval_samples": 0}}, "dataset.max_eval_samples=0 is out of range"),
        ({"eval": {"mode": []}}, "eval.mode: list at least one mode"),
        ({"eval": {"mode": ["rank", "rank"]}}, "eval.mode: ['rank', 'rank'] repeats a mode"),
        ({"eval": {"mode": ["rank", "greedy"]}}, "eval.mode"),
        ({"datasets": ["svamp"], "eval": {"mode": ["generate", "rank"]}}, "rank needs a class"),
        ({"modle": "x"}, "unknown key 'modle' (did you mean 'model'?)"),
    ],
)
def test_spec_mistakes_are_one_line_errors(tmp_path, changes, message):
    with pytest.raises(PeftctlError) as error:
        load_spec(spec_file(tmp_path, **changes))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_an_empty_spec_file_is_an_error(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing\n")
    with pytest.raises(PeftctlError, match="is empty; list methods and datasets"):
        load_spec(path)


def test_overrides_replace_lists_and_nested_keys():
    spec = build_spec(
        BASE,
        ["seeds=[3,4]", "methods=lora,ia3", "budget.max_steps=7", "dataset.max_eval_samples=16"],
    )
    assert spec.seeds == [3, 4]
    assert [m.name for m in spec.method_entries] == ["lora", "ia3"]
    assert spec.budget.max_steps == 7
    assert spec.dataset == {"max_eval_samples": "16"}


def test_cells_are_methods_times_lrs_times_datasets_times_seeds():
    spec = build_spec(
        {
            **BASE,
            "methods": [
                "lora",
                {"name": "ia3", "lr": [1e-3, 1e-2], "target_modules": ["v_proj", "down_proj"]},
            ],
            "datasets": ["sst2", "cola"],
            "seeds": [0, 1],
        }
    )
    cells = expand(spec)
    assert len(cells) == (1 + 2) * 2 * 2
    ia3 = [c for c in cells if c.method == "ia3"]
    assert {c.lr for c in ia3} == {1e-3, 1e-2} and all(c.lr_swept for c in ia3)
    assert all(c.recipe.method.target_modules == ["v_proj", "down_proj"] for c in ia3)
    lora = next(c for c in cells if c.method == "lora")
    assert not lora.lr_swept and lora.lr == 5e-4  # lora_sst2's tuned lr
    assert cells[0].seed == 0 and cells[-1].seed == 1  # seeds outermost
    assert all(c.recipe.train.max_steps == 5 and c.recipe.eval.after_train for c in cells)
    assert len({c.id for c in cells}) == len(cells)


def test_cell_ids_are_stable_and_follow_the_recipe():
    first = [c.id for c in expand(build_spec(BASE))]
    assert first == [c.id for c in expand(build_spec(BASE))]
    assert first != [c.id for c in expand(build_spec(BASE, ["train.batch_size=2"]))]
    elsewhere = expand(build_spec(BASE, ["dataset.data_dir=/elsewhere"]))
    assert first == [c.id for c in elsewhere]  # where data is read from is not the experiment


def test_per_dataset_keys_reach_only_that_dataset():
    spec = build_spec(
        {
            **BASE,
            "datasets": [
                "sst2",
                {"name": "svamp", "split_from": "test", "eval": {"mode": "generate"}},
            ],
            "eval": {"mode": "rank"},
        }
    )
    sst2, svamp = expand(spec)
    assert sst2.recipe.eval.mode == "rank" and sst2.recipe.dataset.split_from is None
    assert svamp.recipe.eval.mode == "generate" and svamp.recipe.dataset.split_from == "test"


def test_a_list_of_modes_scores_each_cell_in_every_mode_and_trains_it_once():
    one = expand(build_spec({**BASE, "eval": {"mode": "rank"}}))
    (both,) = expand(build_spec({**BASE, "eval": {"mode": ["rank", "generate"]}}))
    assert both.modes == ("rank", "generate") and both.recipe.eval.mode == "rank"
    assert both.id == one[0].id  # a further mode reuses the trained cell
    assert both.identity()["modes"] == ["rank", "generate"]
    (plain,) = expand(build_spec(BASE))
    assert plain.modes == (plain.recipe.eval.mode,)
    spec = {**BASE, "datasets": [{"name": "sst2", "eval": {"mode": ["generate", "rank"]}}]}
    (override,) = expand(build_spec({**spec, "eval": {"mode": "rank"}}))
    assert override.modes == ("generate", "rank")  # the dataset's own list wins


def test_shipped_specs_validate(cli):
    code, out, _ = cli("bench", "list")
    assert code == 0 and "quick" in out and "pf-table2" in out
    code, out, _ = cli("bench", "validate", "quick", "seeds=[0]")
    assert code == 0 and "2 cells" in out
    # the optional method packages may be missing here: the spec's installed methods
    from peftctl.bench.spec import shipped_specs
    from peftctl.plugin_manager import get_plugins

    listed = yaml.safe_load(shipped_specs()["methods-sst2"].read_text())["methods"]
    installed = [m for m in listed if m in get_plugins().methods.names()]
    assert len(installed) >= 16  # the core's and the standard packages' methods
    code, out, err = cli("bench", "validate", "methods-sst2", f"methods=[{','.join(installed)}]")
    assert code == 0 and f"{len(installed)} cells ({len(installed)} methods" in out, err


def test_validate_names_the_bad_key_in_one_line(cli):
    code, out, err = cli("bench", "validate", "quick", "budget.max_steps=-1")
    assert code == 2 and out == ""
    assert err == (
        "error: bench spec quick.yaml: budget.max_steps=-1 is out of range; it must be >= 0\n"
    )


def test_unknown_spec_suggests_a_shipped_one(cli):
    code, _, err = cli("bench", "run", "quik")
    assert code == 2 and "unknown bench spec 'quik' (did you mean 'quick'?)" in err


def test_a_shipped_name_beside_a_folder_of_that_name_is_the_shipped_spec(
    cli, tmp_path, monkeypatch
):
    """`peftctl bench run quick` where ./quick is its bench directory (runs/bench/quick)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quick").mkdir()
    (tmp_path / "mine").mkdir()
    code, out, err = cli("bench", "validate", "quick", "seeds=[0]")
    assert code == 0 and "2 cells" in out, err
    code, _, err = cli("bench", "validate", "mine")
    assert code == 2 and "bench spec 'mine' is a directory; pass a YAML file" in err


def test_status_of_a_folder_that_is_no_bench(cli, tmp_path):
    code, _, err = cli("bench", "status", str(tmp_path))
    assert code == 2 and "is not a bench directory" in err


def test_spec_commands_do_not_import_torch():
    code = (
        "import sys; from peftctl.cli import main\n"
        "try: main(['bench', 'validate', 'quick'])\n"
        "except SystemExit: pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "HEAVY []" in out


def test_a_new_option_left_at_its_default_keeps_every_cell_id():
    """An upgrade that adds a recipe option must not make finished cells look new: ids hash
    only the values that differ from the schema's defaults."""
    from dataclasses import dataclass

    from peftctl.bench.cells import _non_default

    @dataclass
    class Old:
        lr: float = 1e-3

    @dataclass
    class New:
        lr: float = 1e-3
        report_to: str = "none"

    assert _non_default(Old()) == _non_default(New()) == {}
    assert _non_default(New(lr=0.1, report_to="tensorboard")) == {
        "lr": 0.1,
        "report_to": "tensorboard",
    }
    (cell,) = expand(build_spec(BASE))
    hashed = _non_default(cell.recipe)
    assert hashed["train"]["max_steps"] == 5 and "batch_size" not in hashed["train"]


def test_a_second_bench_run_on_a_busy_directory_is_refused(cli, tmp_path):
    from peftctl.bench.store import BenchDir, exclusive

    out = tmp_path / "busy"
    with exclusive(BenchDir(out)):
        code, _, err = cli("bench", "run", "quick", "-o", str(out))
    assert code == 2 and err.count("\n") == 1
    assert f"{out} is in use by `bench run` (pid " in err and "choose another --output-dir" in err
    code, _, _ = cli("bench", "status", str(out))  # the lock alone is no bench yet
    assert code == 2
