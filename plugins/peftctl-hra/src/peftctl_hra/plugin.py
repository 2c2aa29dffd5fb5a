"""Registers Hra and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="hra",
            summary="Householder reflections applied to the weights (Yuan et al., 2024)",
            category="reparameterised",
            impl="peftctl_hra.method:HraMethod",  # imported only when used
            config="peftctl_hra.config:HraConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
