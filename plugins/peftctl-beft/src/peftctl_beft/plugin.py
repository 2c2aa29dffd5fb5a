"""Registers Beft and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="beft",
            summary="Trained bias offsets on the target layers (Huang et al., 2025)",
            category="selective",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_beft.method:BeftMethod",
            config="peftctl_beft.config:BeftConfig",
            mergeable=False,
        )
    ]
