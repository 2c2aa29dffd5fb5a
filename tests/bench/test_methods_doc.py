"""benchmarks/methods_doc.py: the method table of docs/methods.md from a bench's records."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.bench.test_report import record, with_modes

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "methods_doc.py"


@pytest.fixture(scope="module")
def methods_doc():
    spec = importlib.util.spec_from_file_location("methods_doc", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_each_method_gets_its_best_cell_per_mode_and_the_bar_verdict(methods_doc):
    records = [
        with_modes(record("lora", lr=1e-3, eval_score=0.9, test_score=0.85), 0.5, 0.45),
        with_modes(record("lora", lr=1e-2, eval_score=0.7, test_score=0.65), 0.8, 0.75),
        with_modes(record("vera", eval_score=0.6, test_score=0.6), 0.3, 0.3),
        {**record("ia3", status="failed", error="boom"), "modes": ["rank", "generate"]},
    ]
    results = {r.label: r for r in methods_doc.method_results(records)}
    assert results["lora"].accuracy("rank") == 0.85
    assert results["lora"].accuracy("generate") == 0.75
    bar = {"rank": 0.695, "generate": 0.398}
    assert results["lora"].clears(bar) and not results["vera"].clears(bar)
    assert results["ia3"].accuracy("rank") is None and not results["ia3"].clears(bar)
    table = methods_doc.markdown_table(list(results.values()), bar)
    lora, vera, ia3 = table.splitlines()[2:]
    assert lora.startswith("| `lora` | 0.001 / 0.01 | 1,000 | 0.850 | 0.750 | 3.33 |")
    assert lora.endswith("| 500 | 1.77 GiB | yes |") and vera.endswith("| **no** |")
    assert "| — | — |" in ia3


def test_the_table_replaces_only_the_marked_section(methods_doc, tmp_path):
    doc = f"# Methods\n\nbefore\n{methods_doc.START}\nold table\n{methods_doc.END}\nafter\n"
    new = methods_doc.replace_section(doc, "| new |")
    assert new == f"# Methods\n\nbefore\n{methods_doc.START}\n| new |\n{methods_doc.END}\nafter\n"
    with pytest.raises(SystemExit, match="not found"):
        methods_doc.replace_section("# no markers\n", "| new |")


def test_the_shipped_doc_has_the_markers_and_a_row_per_method_of_the_spec(methods_doc):
    import yaml

    from peftctl.bench.spec import shipped_specs

    spec = yaml.safe_load(shipped_specs()["methods-sst2"].read_text())
    doc = methods_doc.DOC.read_text()
    section = doc.split(methods_doc.START)[1].split(methods_doc.END)[0]
    for method in spec["methods"]:
        assert f"| `{method}` |" in section, method
    assert spec["eval"]["mode"] == ["rank", "generate"]


def test_careless_inputs_are_one_line_errors_and_leave_the_doc_alone(methods_doc, tmp_path, capsys):
    doc = tmp_path / "methods.md"
    doc.write_text("# no markers\n")
    bench = tmp_path / "bench"
    (bench / "state").mkdir(parents=True)
    (bench / "bench.json").write_text('{"cells": [{"name": "lora-x", "label": "lora"}]}')
    cases = [
        ([str(tmp_path / "nope"), "--doc", str(doc)], "is not a bench directory"),
        ([str(bench), "--doc", str(tmp_path / "missing.md")], "cannot read"),
        ([str(bench), "--doc", str(doc)], "not found in the doc; add the markers"),
    ]
    for argv, message in cases:
        assert methods_doc.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert doc.read_text() == "# no markers\n"
