"""Registers QLoRA and its recipe. No torch, bitsandbytes or peft here."""

from __future__ import annotations

from pathlib import Path

from peftctl import hookimpl
from peftctl.specs import MethodSpec


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="qlora",
            summary="LoRA on a 4-bit NF4 base model, bitsandbytes (Dettmers et al., 2023)",
            category="reparameterised",
            impl="peftctl_qlora.method:QLoraMethod",
            config="peftctl_qlora.config:QLoraConfig",
            mergeable=True,  # into a dequantised, full-precision copy of the base
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
