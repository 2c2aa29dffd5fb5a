"""``peftctl show-dataset`` and ``peftctl list-datasets``."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.staged import needs_staged


@needs_staged("sst2")
def test_show_dataset_prints_prompt_and_target(cli):
    code, out, err = cli("show-dataset", "sst2", "--n", "2")
    assert code == 0, err
    assert out.count("[prompt]") == 2
    assert "Classify the following sentence into negative and positive classes." in out
    assert "[target]\npositive" in out
    assert "872 examples from" in out


@needs_staged("sst2")
def test_show_dataset_json_and_carving(cli):
    args = ["show-dataset", "piqa", "--split", "train", "--split-from", "validation", "--json"]
    code, out, err = cli(*args)
    assert code == 0, err
    records = json.loads(out)
    assert len(records) == 3 and records[0]["target"] in ("solution1", "solution2")


def test_show_dataset_errors_are_one_line(cli):
    code, _, err = cli("show-dataset", "sst3")
    assert code == 2 and "sst2" in err and err.count("\n") == 1
    code, _, err = cli("show-dataset", "sst2", "--split", "dev")
    assert code == 2 and "--split must be one of train, eval, test" in err


@needs_staged("sst2")
def test_list_datasets_shows_local_availability(cli):
    _, out, _ = cli("list-datasets", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert len(rows) >= 27
    assert rows["sst2"]["local"] == "yes"
    assert rows["mnli"]["local"] == "no"
    assert rows["boolq"]["local"] == "eval"
    assert rows["mmlu"]["metrics"] == ["accuracy", "f1"]


def test_list_datasets_imports_no_heavy_library():
    code = (
        "import sys; from peftctl.cli import main\n"
        "try: main(['list-datasets', '--json'])\nexcept SystemExit: pass\n"
        "heavy = {'torch', 'transformers', 'datasets', 'numpy', 'peft'} & set(sys.modules)\n"
        "print('HEAVY', sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
