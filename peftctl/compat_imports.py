"""Plugins written against peftctl 0.1/0.2, before ``peftctl.api``: the modules they imported
that have moved still import (as the module's new home), and a plugin package that imports any
peftctl module but ``peftctl.api`` / ``peftctl.testing`` gets one warning per module, naming
the ``peftctl.api`` replacement (docs/plugins.md, "Migrating a 0.1/0.2 plugin")."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from peftctl.errors import warn_once

#: old module -> where it lives now
MOVED = {
    "peftctl.models.arch": "peftctl.facts.arch",
    "peftctl.models.names": "peftctl.facts.names",
    "peftctl.models.module_names": "peftctl.facts.module_names",
    "peftctl.config.typed": "peftctl.typed",
    "peftctl.methods.standard": "peftctl.standard_packages",
    "peftctl.methods.merging": "peftctl.export.merging",
    "peftctl.methods.combining": "peftctl.export.combining",
}
PUBLIC = ("peftctl", "peftctl.api", "peftctl.testing")
MIGRATION = 'docs/plugins.md "Migrating a 0.1/0.2 plugin"'
# a line importing a peftctl module other than the public ones: worth parsing the file
_INTERNAL = re.compile(r"^\s*(from|import)\s+peftctl\.(?!(api|testing)\b)", re.MULTILINE)


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module name as the module that replaced it."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(MOVED[spec.name])
        self.own_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """The new module ran when it was imported; it keeps its own spec (the import
        machinery has just set the old name's)."""
        module.__spec__ = self.own_spec


def install() -> None:
    """Let moved module names import (once per process)."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModules())


def warn_internal_imports(module_name: str) -> None:
    """Warn about each non-public peftctl module the plugin package of ``module_name`` imports
    (every ``.py`` file of its top-level package is read, once per process)."""
    top = module_name.partition(".")[0]
    if top != "peftctl":
        for line in _internal_imports(top):
            warn_once(line)


@cache
def _internal_imports(top: str) -> tuple[str, ...]:
    module = sys.modules.get(top)
    origin = getattr(module, "__file__", None)
    if not origin:
        return ()
    root = Path(origin)
    files = sorted(root.parent.rglob("*.py")) if root.name == "__init__.py" else [root]
    found: dict[str, set[str]] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if _INTERNAL.search(text):
            for name, names in _imports(text):
                found.setdefault(name, set()).update(names)
    return tuple(_warning(top, name, sorted(names)) for name, names in sorted(found.items()))


def _imports(text: str) -> list[tuple[str, list[str]]]:
    """``(module, [names])`` of each import of a non-public peftctl module in ``text``."""
    import ast

    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module not in PUBLIC and node.module.startswith("peftctl."):
                found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("peftctl.")]
    return [(module, names) for module, names in found if module not in PUBLIC]


def _warning(top: str, module: str, names: list[str]) -> str:
    public = _public_names()
    covered = [name for name in names if name in public]
    missing = [name for name in names if name not in public]
    if names and not missing:
        instead = f"import {', '.join(covered)} from peftctl.api instead"
    elif covered:
        instead = (
            f"import {', '.join(covered)} from peftctl.api; {', '.join(missing)} "
            "has no public replacement"
        )
    elif names:
        instead = f"{', '.join(missing)} has no public replacement"
    else:
        instead = "use peftctl.api"
    return (
        f"plugin package '{top}' imports {module}, which is internal and may change in any "
        f"release; {instead} ({MIGRATION})"
    )


@cache
def _public_names() -> frozenset[str]:
    """``peftctl.api.__all__``, read from its source (importing it here would be circular)."""
    import ast

    tree = ast.parse((Path(__file__).parent / "api.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "__all__" for t in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    return frozenset()
