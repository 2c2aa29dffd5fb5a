"""The dependency rules of docs/architecture.md ("Layers"), checked on every import of every
file under ``peftctl/``: a module imports only from layers below its own, the packages of one
layer do not import each other, no two modules import each other, and the table names every
package and top-level module of the tree exactly once."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "peftctl"
FOUNDATION = "foundation"


def layer_table(text: str) -> list[tuple[str, set[str]]]:
    """``[(layer, {unit, ...}), ...]`` top row first, from the doc's "Layers" table."""
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and "`" in cells[1]:
            rows.append((cells[0], set(re.findall(r"`([\w]+)`", cells[1]))))
    return rows


LAYERS = layer_table((REPO / "docs" / "architecture.md").read_text(encoding="utf-8"))
ROW = {unit: index for index, (_, units) in enumerate(LAYERS) for unit in units}
FOUNDATION_ROW = next(i for i, (name, _) in enumerate(LAYERS) if name == FOUNDATION)


def unit_of(path: Path) -> str:
    """The package or top-level module ``path`` belongs to (``__init__`` for peftctl's own)."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def imported_units(path: Path) -> set[str]:
    """The peftctl units ``path`` imports (absolute and relative imports, at any depth)."""
    found = set()
    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: -node.level]
                base = ".".join([*anchor, base] if base else anchor)
            names = (
                [f"{base}.{alias.name}" for alias in node.names] if base == "peftctl" else [base]
            )
        else:
            continue
        for name in names:
            if name.startswith("peftctl."):
                head = name.split(".")[1]
                found.add(head if head in ROW else "__init__")
    return found


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "template" in path.relative_to(PACKAGE).parts:
            continue  # the scaffold's template is plugin code (test_public_api checks it)
        source = unit_of(path)
        graph.setdefault(source, set()).update(imported_units(path) - {source})
    return graph


def test_the_table_names_every_unit_of_the_tree_once():
    tree = {unit_of(p) for p in PACKAGE.rglob("*.py") if "template" not in p.parts}
    listed = [unit for _, units in LAYERS for unit in units]
    assert len(listed) == len(set(listed)), "a unit is in two rows"
    assert set(listed) == tree, f"missing: {tree - set(listed)}, gone: {set(listed) - tree}"


def test_every_import_points_to_a_lower_layer():
    bad = [
        f"{source} ({LAYERS[ROW[source]][0]}) imports {target} ({LAYERS[ROW[target]][0]})"
        for source, targets in edges().items()
        for target in targets
        if ROW[target] < ROW[source]
        or (ROW[target] == ROW[source] and ROW[source] != FOUNDATION_ROW)
    ]
    assert not bad, "docs/architecture.md#layers:\n" + "\n".join(sorted(bad))


def test_no_two_units_import_each_other():
    graph = edges()
    pairs = {tuple(sorted((a, b))) for a in graph for b in graph[a] if a in graph.get(b, ())}
    assert not pairs


@pytest.mark.parametrize(
    ("code", "where", "unit"),
    [
        ("from peftctl.training.run import x\n", "peftctl/facts/x.py", "training"),
        ("from peftctl import hookimpl\n", "peftctl/facts/x.py", "__init__"),
        ("from peftctl import typed\n", "peftctl/facts/x.py", "typed"),
        ("def f():\n    import peftctl.models.loading\n", "peftctl/facts/x.py", "models"),
        ("from ..models import loading\n", "peftctl/facts/x.py", "models"),
        ("from . import arch\n", "peftctl/facts/x.py", "facts"),
    ],
)
def test_the_rule_sees_every_form_of_import(tmp_path, monkeypatch, code, where, unit):
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(code)
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "peftctl")
    assert imported_units(path) == {unit}


def test_the_model_facts_import_no_torch():
    heavy = "{'torch', 'transformers', 'peft', 'yaml'}"
    modules = ", ".join(f"peftctl.facts.{p.stem}" for p in (PACKAGE / "facts").glob("[!_]*.py"))
    code = f"import sys, {modules}; print(sorted({heavy} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


RUN_FILES = {"recipe.yaml", "run.json", "checkpoints", "metrics.json", "predictions.jsonl"}


def spelled_run_files(path: Path) -> list[str]:
    """String literals of ``path`` used as a run directory's file name (``"run.json"``,
    ``"**/run.json"``); prose in messages and help may name them."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings
        and (node.value in RUN_FILES or node.value.endswith(tuple(f"/{n}" for n in RUN_FILES)))
    ]  # fmt: skip


def test_the_run_directory_layout_is_spelled_in_one_module():
    owner = PACKAGE / "run_files.py"
    assert len(spelled_run_files(owner)) == len(RUN_FILES)
    others = [p for p in PACKAGE.rglob("*.py") if p != owner and "template" not in p.parts]
    bad = [line for path in others for line in spelled_run_files(path)]
    assert not bad, "use peftctl.run_files:\n" + "\n".join(bad)
