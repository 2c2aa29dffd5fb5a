"""Registers Gralora and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="gralora",
            summary="Granular LoRA: a grid of small blocks per weight (Jung et al., 2025)",
            category="reparameterised",
            impl="peftctl_gralora.method:GraloraMethod",  # imported only when used
            config="peftctl_gralora.config:GraloraConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
