"""Registers Vblora and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="vblora",
            summary="LoRA built from a shared bank of trained vectors (Li et al., 2024)",
            category="reparameterised",
            impl="peftctl_vblora.method:VbloraMethod",  # imported only when used
            config="peftctl_vblora.config:VbloraConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
