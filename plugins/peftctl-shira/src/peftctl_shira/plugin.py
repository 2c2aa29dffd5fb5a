"""Registers Shira and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="shira",
            summary="A sparse high-rank set of trained weight entries (Bhardwaj et al., 2024)",
            category="selective",
            impl="peftctl_shira.method:ShiraMethod",  # imported only when used
            config="peftctl_shira.config:ShiraConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
