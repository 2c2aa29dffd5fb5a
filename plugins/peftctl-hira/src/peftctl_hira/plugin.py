"""Registers Hira and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="hira",
            summary="Hadamard high-rank updates (W * AB) (Huang et al., 2025)",
            category="reparameterised",
            impl="peftctl_hira.method:HiraMethod",  # imported only when used
            config="peftctl_hira.config:HiraConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
