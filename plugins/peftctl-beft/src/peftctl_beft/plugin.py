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
            impl="peftctl_beft.method:BeftMethod",  # imported only when used
            config="peftctl_beft.config:BeftConfig",  # light: recipes validate with it
            mergeable=False,
        )
    ]
