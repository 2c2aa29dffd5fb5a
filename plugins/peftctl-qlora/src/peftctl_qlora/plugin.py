"""Registers QLoRA and its recipe. No torch, bitsandbytes or peft here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="qlora",
            summary="LoRA on a 4-bit NF4 base model, bitsandbytes (Dettmers et al., 2023)",
            category="reparameterised",
            impl="peftctl_qlora.method:QLoraMethod",
            config="peftctl_qlora.config:QLoraConfig",
            mergeable=True,  # into a dequantised, full-precision copy of the base
        )
    ]
