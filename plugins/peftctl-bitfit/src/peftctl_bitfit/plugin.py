"""Registers BitFit and its recipe. No torch here."""

from __future__ import annotations

from pathlib import Path

from peftctl import hookimpl
from peftctl.specs import MethodSpec


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="bitfit",
            summary="Train only biases; zero biases are added where linears lack them (2022)",
            category="selective",
            impl="peftctl_bitfit.method:BitFitMethod",
            config="peftctl_bitfit.config:BitFitConfig",
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
