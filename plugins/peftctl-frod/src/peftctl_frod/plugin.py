"""Registers Frod and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="frod",
            summary="Sparse rotations of the weight's frozen eigenbasis (AAAI 2026)",
            category="reparameterised",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_frod.method:FrodMethod",
            config="peftctl_frod.config:FrodConfig",
            mergeable=True,
        )
    ]
