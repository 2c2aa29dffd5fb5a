"""Every method package under ``plugins/`` builds into a wheel that declares what its code
imports, registers through its entry point and carries its recipes; the core depends on the
standard packages, released in lockstep with it."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from peftctl import __version__
from peftctl.standard_packages import OPTIONAL, STANDARD

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

REPO = Path(__file__).resolve().parents[2]
PACKAGES = sorted(
    p for p in (REPO / "plugins").glob("peftctl-*") if (p / "pyproject.toml").is_file()
)
PIN = "peftctl>=0.3,<0.4"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return canonical(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0])


def built_wheel(project: Path, tmp_path: Path) -> zipfile.ZipFile:
    """The wheel hatchling builds from ``project`` (as ``pip wheel`` would, offline)."""
    from hatchling.builders.wheel import WheelBuilder

    [wheel] = WheelBuilder(str(project)).build(directory=str(tmp_path), versions=["standard"])
    return zipfile.ZipFile(wheel)


def wheel_file(wheel: zipfile.ZipFile, suffix: str) -> str:
    [name] = [n for n in wheel.namelist() if n.endswith(f".dist-info/{suffix}")]
    return wheel.read(name).decode()


def imported_distributions(source: Path, own: str) -> dict[str, set[str]]:
    """``{distribution: {module, ...}}`` that the modules under ``source`` import (absolute
    imports of the standard library and of the package itself left out)."""
    providers = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for path in source.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in ("__future__", own):
                    continue
                # by the installed distributions; else (an editable install's records do not
                # list its modules, a library absent from this environment) by its name
                dists = providers.get(top, [top]) if not top.startswith("peftctl") else [top]
                for dist in dists:
                    found.setdefault(canonical(dist), set()).add(module)
    return found


@pytest.mark.parametrize("project", PACKAGES, ids=[p.name for p in PACKAGES])
def test_the_wheel_declares_every_library_its_code_imports(project, tmp_path):
    wheel = built_wheel(project, tmp_path)
    metadata = Parser().parsestr(wheel_file(wheel, "METADATA"))
    required = metadata.get_all("Requires-Dist") or []
    runtime = {requirement_name(r) for r in required if "extra ==" not in r}
    own = project.name.replace("-", "_")
    imported = imported_distributions(project / "src" / own, own)
    assert "peftctl" in imported, "a method package builds on peftctl.api"
    undeclared = {dist: sorted(mods) for dist, mods in imported.items() if dist not in runtime}
    assert not undeclared, f"{project.name} imports but does not declare: {undeclared}"


@pytest.mark.parametrize("project", PACKAGES, ids=[p.name for p in PACKAGES])
def test_the_wheel_registers_its_plugin_and_carries_its_recipes(project, tmp_path):
    wheel = built_wheel(project, tmp_path)
    entry = project.name.removeprefix("peftctl-")
    own = project.name.replace("-", "_")
    assert f"[peftctl]\n{entry} = {own}.plugin" in wheel_file(wheel, "entry_points.txt")
    recipes = {p.name for p in (project / "recipes").glob("*.yaml")}
    packed = {Path(n).name for n in wheel.namelist() if n.startswith(f"{own}/recipes/")}
    assert recipes and packed == recipes
    assert not [n for n in wheel.namelist() if "/tests/" in n or n.startswith("tests/")]


def test_the_core_depends_on_each_standard_package_at_its_own_version():
    core = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert {d for d in core["dependencies"] if d.startswith("peftctl-")} == {
        f"{package}>=0.3,<0.4" for package in STANDARD
    }
    assert {requirement_name(d) for d in core["optional-dependencies"]["all-methods"]} == set(
        OPTIONAL
    )
    for package in STANDARD:
        meta = tomllib.loads((REPO / "plugins" / package / "pyproject.toml").read_text())
        assert meta["project"]["version"] == __version__, f"{package} is released with the core"
    assert {p.name for p in PACKAGES} == {*STANDARD, *OPTIONAL}


def test_dev_install_lists_the_core_and_exactly_the_standard_packages():
    """README's install line: every ``peftctl-*`` requirement of the core comes from a local
    path in the same pip command, so pip never asks an index for those names."""
    lines = (REPO / "dev-install.txt").read_text().splitlines()
    paths = [line.removeprefix("-e ").strip() for line in lines if line.startswith("-e ")]
    assert paths == [".", *(f"./plugins/{package}" for package in STANDARD)]
