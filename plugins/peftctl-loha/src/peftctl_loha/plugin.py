"""Registers Loha and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="loha",
            summary="Low-rank Hadamard product updates (Hyeon-Woo et al., 2022)",
            category="reparameterised",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_loha.method:LohaMethod",
            config="peftctl_loha.config:LohaConfig",
            mergeable=True,
        )
    ]
