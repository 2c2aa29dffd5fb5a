"""Registers VeRA and the recipes. No torch or peft here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="vera",
            summary="Shared random matrices, trained scaling vectors (Kopiczko et al., 2024)",
            category="reparameterised",
            impl="peftctl_vera.method:VeraMethod",
            config="peftctl_vera.config:VeraConfig",
            mergeable=True,
        ),
    ]
