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
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_gralora.method:GraloraMethod",
            config="peftctl_gralora.config:GraloraConfig",
            mergeable=True,
        )
    ]
