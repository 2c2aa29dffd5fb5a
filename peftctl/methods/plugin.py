"""Registers the core's built-in methods (through the ``peftctl`` entry-point group)."""

from __future__ import annotations

from peftctl import hookimpl
from peftctl.specs import MethodSpec


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="lora",
            summary="Low-rank adapters on linear layers (Hu et al., 2021)",
            category="reparameterised",
            impl="peftctl.methods.lora:LoraMethod",
            config="peftctl.methods.lora.config:LoraConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="dora",
            summary="Weight-decomposed LoRA: LoRA direction, trained magnitude (Liu et al., 2024)",
            category="reparameterised",
            impl="peftctl.methods.lora_variants:DoraMethod",
            config="peftctl.methods.lora_variants.config:DoraConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="loraplus",
            summary="LoRA with B learning 16x faster than A (Hayou et al., 2024)",
            category="reparameterised",
            impl="peftctl.methods.lora_variants:LoraPlusMethod",
            config="peftctl.methods.lora_variants.config:LoraPlusConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="pissa",
            summary="LoRA initialised from principal singular vectors (Meng et al., 2024)",
            category="reparameterised",
            impl="peftctl.methods.lora_variants:PissaMethod",
            config="peftctl.methods.lora_variants.config:PissaConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="adalora",
            summary="LoRA with an adaptive per-layer rank budget (Zhang et al., 2023)",
            category="reparameterised",
            impl="peftctl.methods.adalora:AdaLoraMethod",
            config="peftctl.methods.adalora.config:AdaLoraConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="vera",
            summary="Shared random matrices, trained scaling vectors (Kopiczko et al., 2024)",
            category="reparameterised",
            impl="peftctl.methods.vera:VeraMethod",
            config="peftctl.methods.vera.config:VeraConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="oft",
            summary="Orthogonal block rotations of the weights, block size 32 (Qiu et al., 2023)",
            category="reparameterised",
            impl="peftctl.methods.oft:OftMethod",
            config="peftctl.methods.oft.config:OftConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="ia3",
            summary="Learned rescaling of keys, values and down_proj inputs (Liu et al., 2022)",
            category="additive",
            impl="peftctl.methods.ia3:Ia3Method",
            config="peftctl.methods.ia3.config:Ia3Config",
            mergeable=True,
        ),
        MethodSpec(
            name="lntuning",
            summary="Train only the normalisation layers (Zhao et al., 2024)",
            category="selective",
            impl="peftctl.methods.lntuning:LnTuningMethod",
            config="peftctl.methods.lntuning.config:LnTuningConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="prompt_tuning",
            summary="100 trained virtual tokens before the input (Lester et al., 2021)",
            category="prompt-based",
            impl="peftctl.methods.prompt:PromptTuningMethod",
            config="peftctl.methods.prompt.config:PromptTuningConfig",
            mergeable=False,
        ),
        MethodSpec(
            name="prefix_tuning",
            summary="32 key/value prefix tokens per layer via an MLP (Li & Liang, 2021)",
            category="prompt-based",
            impl="peftctl.methods.prefix:PrefixTuningMethod",
            config="peftctl.methods.prefix.config:PrefixTuningConfig",
            mergeable=False,
        ),
        MethodSpec(
            name="p_tuning",
            summary="100 virtual tokens from an MLP prompt encoder (Liu et al., 2021)",
            category="prompt-based",
            impl="peftctl.methods.prompt:PTuningMethod",
            config="peftctl.methods.prompt.config:PTuningConfig",
            mergeable=False,
        ),
        MethodSpec(
            name="p_tuning_v2",
            summary="Deep prompts: key/value prefixes per layer, no encoder (Liu et al., 2022)",
            category="prompt-based",
            impl="peftctl.methods.prefix:PTuningV2Method",
            config="peftctl.methods.prefix.config:PTuningV2Config",
            mergeable=False,
        ),
        MethodSpec(
            name="mtp",
            summary="Multitask prompt tuning: shared prompt times task factors (Wang et al., 2023)",
            category="prompt-based",
            impl="peftctl.methods.prompt:MtpMethod",
            config="peftctl.methods.prompt.config:MtpConfig",
            mergeable=False,
        ),
        MethodSpec(
            name="full",
            summary="Full fine-tuning: every parameter trains",
            category="baseline",
            impl="peftctl.methods.baselines:FullMethod",
            config="peftctl.methods.baselines.config:FullConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="freeze",
            summary="Freeze-tuning: only the last k decoder layers train",
            category="baseline",
            impl="peftctl.methods.baselines:FreezeMethod",
            config="peftctl.methods.baselines.config:FreezeConfig",
            mergeable=True,
        ),
    ]
