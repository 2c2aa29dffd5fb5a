"""Registers MyMethod and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from pathlib import Path

from peftctl import hookimpl
from peftctl.specs import MethodSpec


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="mymethod",
            summary="Trained per-channel scales on the outputs of linear layers",
            category="additive",
            impl="peftctl_mymethod.method:MyMethodMethod",  # imported only when used
            config="peftctl_mymethod.config:MyMethodConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]


def recipe_dir() -> Path:
    """``recipes/`` inside the installed wheel, or beside ``src/`` in a source checkout."""
    package = Path(__file__).resolve().parent
    installed = package / "recipes"
    return installed if installed.is_dir() else package.parent.parent / "recipes"


@hookimpl
def peftctl_recipe_dirs() -> list[str]:
    return [str(recipe_dir())]
