"""Registers the recipes shipped with the core (through the ``peftctl`` entry-point group)."""

from __future__ import annotations

from pathlib import Path

from peftctl import hookimpl


def builtin_recipe_dir() -> Path:
    """``recipes/`` of a source checkout, or its copy inside the installed wheel."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_recipes"
    return installed if installed.is_dir() else package.parent / "recipes"


@hookimpl
def peftctl_recipe_dirs() -> list[str]:
    return [str(builtin_recipe_dir())]
