"""Registers Waveft and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="waveft",
            summary="A few trained wavelet coefficients per weight (Bilican et al., 2025)",
            category="reparameterised",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_waveft.method:WaveftMethod",
            config="peftctl_waveft.config:WaveftConfig",
            mergeable=True,
        )
    ]
