"""Registers SVFT and its recipe. No torch here."""

from __future__ import annotations

from pathlib import Path

from peftctl import hookimpl
from peftctl.specs import MethodSpec


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="svft",
            summary="Sparse trained M in W + U M Vᵀ, U/V from the SVD of W (Lingam et al., 2024)",
            category="reparameterised",
            impl="peftctl_svft.method:SvftMethod",
            config="peftctl_svft.config:SvftConfig",
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
