"""``peftctl show-dataset`` and ``peftctl list-datasets``."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from peftctl.cli import app

runner = CliRunner()


def test_show_dataset_prints_prompt_and_target():
    result = runner.invoke(app, ["show-dataset", "sst2", "--n", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.count("[prompt]") == 2
    assert "Classify the following sentence into negative and positive classes." in result.output
    assert "[target]\npositive" in result.output
    assert "872 examples from" in result.output


def test_show_dataset_json_and_carving():
    args = ["show-dataset", "piqa", "--split", "train", "--split-from", "validation", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert len(records) == 3 and records[0]["target"] in ("solution1", "solution2")


def test_show_dataset_errors_are_one_line():
    result = runner.invoke(app, ["show-dataset", "sst3"])
    assert result.exit_code != 0 and "sst2" in str(result.exception)
    result = runner.invoke(app, ["show-dataset", "sst2", "--split", "dev"])
    assert "--split must be one of train, eval, test" in str(result.exception)


def test_list_datasets_shows_local_availability():
    result = runner.invoke(app, ["list-datasets", "--json"])
    rows = {row["name"]: row for row in json.loads(result.output)}
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
