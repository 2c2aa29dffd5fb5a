"""Registers Randlora and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="randlora",
            summary="Full-rank updates from random low-rank bases (Albert et al., 2025)",
            category="reparameterised",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_randlora.method:RandloraMethod",
            config="peftctl_randlora.config:RandloraConfig",
            mergeable=True,
        )
    ]
