"""``peftctl.api`` is the one module plugins import; it stays light."""

from __future__ import annotations

import ast
import re
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
    return [(line, m) for line, m in imports(path) if m == "peftctl" or m.startswith("peftctl.")]


def plugin_package_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, top-level package)`` of every import of a ``peftctl_<x>`` package in ``path``."""
    return [(line, m.split(".")[0]) for line, m in imports(path) if m.startswith("peftctl_")]


def imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every absolute import in ``path`` (``from peftctl import api``
    counts as ``peftctl.api``)."""
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
        found += [(node.lineno, m) for m in modules]
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


def declared_plugin_packages(project: Path) -> set[str]:
    """Module names of the package at ``project`` and of the ``peftctl-*`` packages its
    pyproject declares (``peftctl-lora`` -> ``peftctl_lora``)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    names = [meta["name"], *(re.split(r"[\s<>=!~;\[]", dep)[0] for dep in meta["dependencies"])]
    return {name.replace("-", "_") for name in names if name.startswith("peftctl-")}


def test_a_plugin_imports_another_plugin_package_only_when_it_declares_it():
    """qlora and adalora build on peftctl-lora and say so; nothing else crosses packages."""
    projects = [*(REPO / "plugins").glob("peftctl-*"), REPO / "peftctl" / "scaffold" / "template"]
    bad, crossing = [], set()
    for project in projects:
        allowed = declared_plugin_packages(project)
        for path in project.rglob("*.py"):
            for line, package in plugin_package_imports(path):
                crossing.add((project.name, package))
                if package not in allowed:
                    bad.append(f"{path.relative_to(REPO)}:{line}: {package}")
    hint = "declare the package in pyproject.toml or import peftctl.api instead:\n"
    assert not bad, hint + "\n".join(bad)
    assert {("peftctl-qlora", "peftctl_lora"), ("peftctl-adalora", "peftctl_lora")} <= crossing


@pytest.mark.parametrize(
    ("code", "offender"),
    [
        ("from peftctl.methods.base import Method\n", "peftctl.methods.base"),
        ("import peftctl.errors\n", "peftctl.errors"),
        ("from peftctl import hookimpl\n", "peftctl.hookimpl"),
        ("def f():\n    from peftctl.facts.arch import Arch\n", "peftctl.facts.arch"),
    ],
)
def test_the_import_rule_sees_every_form_of_import(tmp_path, code, offender):
    path = tmp_path / "plugin.py"
    path.write_text(code + "from peftctl.api import MethodSpec\nimport peftctl_x.method\n")
    assert [m for _, m in peftctl_imports(path) if m not in ALLOWED] == [offender]
    assert [m for _, m in plugin_package_imports(path)] == ["peftctl_x"]


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
    from peftctl.standard_packages import OPTIONAL, STANDARD

    assert len(projects) == len(STANDARD) + len(OPTIONAL) + 1  # every package, the scaffold
    for path in projects:
        deps = tomllib.loads(path.read_text())["project"]["dependencies"]
        assert pin in deps, f"{path.relative_to(REPO)}: dependencies {deps} lack {pin!r}"


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
