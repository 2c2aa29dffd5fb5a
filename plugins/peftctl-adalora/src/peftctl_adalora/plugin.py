"""Registers AdaLoRA and the recipes. No torch or peft here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="adalora",
            summary="LoRA with an adaptive per-layer rank budget (Zhang et al., 2023)",
            category="reparameterised",
            impl="peftctl_adalora.method:AdaLoraMethod",
            config="peftctl_adalora.config:AdaLoraConfig",
            mergeable=True,
        ),
    ]
