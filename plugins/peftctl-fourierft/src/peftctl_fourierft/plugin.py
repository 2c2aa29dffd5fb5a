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
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_fourierft.method:FourierftMethod",
            config="peftctl_fourierft.config:FourierftConfig",
            mergeable=True,
        )
    ]
