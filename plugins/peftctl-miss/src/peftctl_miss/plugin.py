"""Registers Miss and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="miss",
            summary="Matrix shard sharing: one small trained shard per weight (Kang & Yin, 2024)",
            category="reparameterised",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_miss.method:MissMethod",
            config="peftctl_miss.config:MissConfig",
            mergeable=True,
        )
    ]
