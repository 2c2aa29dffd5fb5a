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
            impl="peftctl_miss.method:MissMethod",  # imported only when used
            config="peftctl_miss.config:MissConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
