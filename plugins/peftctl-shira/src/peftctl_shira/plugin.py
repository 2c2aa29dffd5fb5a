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
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_shira.method:ShiraMethod",
            config="peftctl_shira.config:ShiraConfig",
            mergeable=True,
        )
    ]
