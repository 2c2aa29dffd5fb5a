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
            impl="peftctl_frod.method:FrodMethod",  # imported only when used
            config="peftctl_frod.config:FrodConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
