"""Registers Lokr and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="lokr",
            summary="Low-rank Kronecker product updates (Yeh et al., 2024)",
            category="reparameterised",
            impl="peftctl_lokr.method:LokrMethod",  # imported only when used
            config="peftctl_lokr.config:LokrConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
