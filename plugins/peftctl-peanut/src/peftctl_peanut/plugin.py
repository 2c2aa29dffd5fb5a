"""Registers Peanut and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="peanut",
            summary="Non-linear low-rank updates computed from the weights (Zhong et al., 2024)",
            category="reparameterised",
            impl="peftctl_peanut.method:PeanutMethod",  # imported only when used
            config="peftctl_peanut.config:PeanutConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
