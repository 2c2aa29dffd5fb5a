"""Registers Fourierft and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="fourierft",
            summary="A few trained spectral coefficients per weight (Gao et al., 2024)",
            category="reparameterised",
            impl="peftctl_fourierft.method:FourierftMethod",  # imported only when used
            config="peftctl_fourierft.config:FourierftConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
