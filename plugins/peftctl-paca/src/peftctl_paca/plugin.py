"""Registers Paca and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="paca",
            summary=(
                "Partial connection adaptation: a few trained weight columns (Woo et al., 2025)"
            ),
            category="selective",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_paca.method:PacaMethod",
            config="peftctl_paca.config:PacaConfig",
            mergeable=True,
        )
    ]
