"""Registers Road and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="road",
            summary="Trained 2-d rotations of the outputs (Liao & Monz, 2024)",
            category="reparameterised",
            impl="peftctl_road.method:RoadMethod",  # imported only when used
            config="peftctl_road.config:RoadConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
