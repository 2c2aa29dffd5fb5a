"""Registers C3a and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="c3a",
            summary="Circular-convolution adapters (Chen et al., 2024)",
            category="reparameterised",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_c3a.method:C3aMethod",
            config="peftctl_c3a.config:C3aConfig",
            mergeable=True,
        )
    ]
