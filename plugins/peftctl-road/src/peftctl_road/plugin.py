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
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_road.method:RoadMethod",
            config="peftctl_road.config:RoadConfig",
            mergeable=True,
        )
    ]
