"""Registers LoRA and its variants and the recipes. No torch or peft here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="lora",
            summary="Low-rank adapters on linear layers (Hu et al., 2021)",
            category="reparameterised",
            impl="peftctl_lora.method:LoraMethod",
            config="peftctl_lora.config:LoraConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="dora",
            summary="Weight-decomposed LoRA: LoRA direction, trained magnitude (Liu et al., 2024)",
            category="reparameterised",
            impl="peftctl_lora.variants.method:DoraMethod",
            config="peftctl_lora.variants.config:DoraConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="loraplus",
            summary="LoRA with B learning 16x faster than A (Hayou et al., 2024)",
            category="reparameterised",
            impl="peftctl_lora.variants.method:LoraPlusMethod",
            config="peftctl_lora.variants.config:LoraPlusConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="pissa",
            summary="LoRA initialised from principal singular vectors (Meng et al., 2024)",
            category="reparameterised",
            impl="peftctl_lora.variants.method:PissaMethod",
            config="peftctl_lora.variants.config:PissaConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="rslora",
            summary="Rank-stabilised LoRA: scaled by alpha / sqrt(r) (Kalajdzievski, 2023)",
            category="reparameterised",
            impl="peftctl_lora.method:LoraMethod",
            config="peftctl_lora.variants.config:RsLoraConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="olora",
            summary="LoRA initialised from a QR decomposition of each weight (Büyükakyüz, 2024)",
            category="reparameterised",
            impl="peftctl_lora.method:LoraMethod",
            config="peftctl_lora.variants.config:OloraConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="lorafa",
            summary="LoRA-FA: A frozen, B trained by a projected optimiser (Zhang et al., 2023)",
            category="reparameterised",
            impl="peftctl_lora.variants.method:LoraFaMethod",
            config="peftctl_lora.variants.config:LoraFaConfig",
            mergeable=True,
        ),
    ]
