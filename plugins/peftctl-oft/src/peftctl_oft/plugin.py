"""Registers OFT and the recipes. No torch or peft here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="oft",
            summary="Orthogonal block rotations of the weights, block size 32 (Qiu et al., 2023)",
            category="reparameterised",
            impl="peftctl_oft.method:OftMethod",
            config="peftctl_oft.config:OftConfig",
            mergeable=True,
        ),
    ]
