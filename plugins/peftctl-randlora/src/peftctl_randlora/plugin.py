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
            impl="peftctl_randlora.method:RandloraMethod",  # imported only when used
            config="peftctl_randlora.config:RandloraConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
