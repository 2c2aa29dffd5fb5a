"""``peftctl.api`` is the one module plugins import; it stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import peftctl.api

REPO = Path(__file__).resolve().parents[2]
ALLOWED = {"peftctl.api", "peftctl.testing"}
PLUGIN_CODE = sorted(
    [*(REPO / "plugins").rglob("*.py"), *(REPO / "peftctl" / "scaffold" / "template").rglob("*.py")]
)


def peftctl_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import of ``peftctl`` or a submodule in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "peftctl":  # from peftctl import api
                modules = [f"peftctl.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(node.lineno, m) for m in modules if m == "peftctl" or m.startswith("peftctl.")]
    return found


def test_plugins_and_the_scaffold_import_only_the_public_api():
    assert len(PLUGIN_CODE) > 20
    bad = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in PLUGIN_CODE
        for line, module in peftctl_imports(path)
        if module not in ALLOWED
    ]
    assert not bad, "import from peftctl.api or peftctl.testing instead:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("code", "offender"),
    [
        ("from peftctl.methods.base import Method\n", "peftctl.methods.base"),
        ("import peftctl.errors\n", "peftctl.errors"),
        ("from peftctl import hookimpl\n", "peftctl.hookimpl"),
        ("def f():\n    from peftctl.models.arch import Arch\n", "peftctl.models.arch"),
    ],
)
def test_the_import_rule_sees_every_form_of_import(tmp_path, code, offender):
    path = tmp_path / "plugin.py"
    path.write_text(code + "from peftctl.api import MethodSpec\nimport peftctl_x.method\n")
    assert [m for _, m in peftctl_imports(path) if m not in ALLOWED] == [offender]


def test_everything_exported_resolves():
    for name in peftctl.api.__all__:
        assert getattr(peftctl.api, name) is not None, name


def test_importing_the_api_imports_no_torch():
    heavy = "{'torch', 'peft', 'transformers'}"
    code = f"import sys, peftctl.api; print(sorted({heavy} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_plugin_pins_the_core_minor_version_it_is_built_for():
    """A plugin names the core range it supports; a core minor release may change the API."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    major, minor = (int(part) for part in peftctl.api.__version__.split(".")[:2])
    pin = f"peftctl>={major}.{minor},<{major}.{minor + 1}"
    projects = [*(REPO / "plugins").glob("*/pyproject.toml")]
    projects.append(REPO / "peftctl" / "scaffold" / "template" / "pyproject.toml")
    assert len(projects) == 6
    for path in projects:
        deps = tomllib.loads(path.read_text())["project"]["dependencies"]
        assert pin in deps, f"{path.relative_to(REPO)}: dependencies {deps} lack {pin!r}"


#: module -> the peftctl modules it may import (dependencies point down: CLI -> engine -> contract)
CONTRACT = {"peftctl", "peftctl.errors", "peftctl.specs", "peftctl.config.typed"}
LAYERS = {
    "peftctl/specs.py": CONTRACT,
    "peftctl/hookspecs.py": CONTRACT,
    "peftctl/methods/base.py": {*CONTRACT, "peftctl.models.arch", "peftctl.file_checks"},
    "peftctl/methods/targets.py": {*CONTRACT, "peftctl.methods.base"},
    "peftctl/models/arch.py": {*CONTRACT, "peftctl.methods.targets"},
}


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_contract_modules_import_no_engine_module(module):
    imported = {m for _, m in peftctl_imports(REPO / module)}
    assert imported <= LAYERS[module], f"{module} imports {sorted(imported - LAYERS[module])}"


def test_metrics_are_pure_functions_of_predictions():
    """Metrics import neither the evaluator, the trainer, models nor the CLI."""
    engine = ("peftctl.evaluation", "peftctl.training", "peftctl.models", "peftctl.cli")
    bad = [
        f"{path.name}: {module}"
        for path in (REPO / "peftctl" / "metrics").glob("*.py")
        for _, module in peftctl_imports(path)
        if module.startswith(engine)
    ]
    assert not bad
