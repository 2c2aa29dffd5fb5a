"""Registers Boft and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="boft",
            summary="Butterfly-factorised orthogonal weight rotations (Liu et al., 2024)",
            category="reparameterised",
            impl="peftctl_boft.method:BoftMethod",  # imported only when used
            config="peftctl_boft.config:BoftConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
