"""Registers SVFT and its recipe. No torch here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="svft",
            summary="Sparse trained M in W + U M Vᵀ, U/V from the SVD of W (Lingam et al., 2024)",
            category="reparameterised",
            impl="peftctl_svft.method:SvftMethod",
            config="peftctl_svft.config:SvftConfig",
            mergeable=True,
        )
    ]
