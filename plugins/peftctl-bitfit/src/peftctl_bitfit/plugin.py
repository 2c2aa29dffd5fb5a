"""Registers BitFit and its recipe. No torch here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="bitfit",
            summary="Train only biases; zero biases are added where linears lack them (2022)",
            category="selective",
            impl="peftctl_bitfit.method:BitFitMethod",
            config="peftctl_bitfit.config:BitFitConfig",
            mergeable=True,
        )
    ]
