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
            impl="peftctl_c3a.method:C3aMethod",  # imported only when used
            config="peftctl_c3a.config:C3aConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
