"""Registers the prompt-learning methods and the recipes. No torch or peft here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="prompt_tuning",
            summary="100 trained virtual tokens before the input (Lester et al., 2021)",
            category="prompt-based",
            impl="peftctl_prompt.prompt.method:PromptTuningMethod",
            config="peftctl_prompt.prompt.config:PromptTuningConfig",
            mergeable=False,
        ),
        MethodSpec(
            name="p_tuning",
            summary="100 virtual tokens from an MLP prompt encoder (Liu et al., 2021)",
            category="prompt-based",
            impl="peftctl_prompt.prompt.method:PTuningMethod",
            config="peftctl_prompt.prompt.config:PTuningConfig",
            mergeable=False,
        ),
        MethodSpec(
            name="mtp",
            summary="Multitask prompt tuning: shared prompt times task factors (Wang et al., 2023)",
            category="prompt-based",
            impl="peftctl_prompt.prompt.method:MtpMethod",
            config="peftctl_prompt.prompt.config:MtpConfig",
            mergeable=False,
        ),
        MethodSpec(
            name="prefix_tuning",
            summary="32 key/value prefix tokens per layer via an MLP (Li & Liang, 2021)",
            category="prompt-based",
            impl="peftctl_prompt.prefix.method:PrefixTuningMethod",
            config="peftctl_prompt.prefix.config:PrefixTuningConfig",
            mergeable=False,
        ),
        MethodSpec(
            name="p_tuning_v2",
            summary="Deep prompts: key/value prefixes per layer, no encoder (Liu et al., 2022)",
            category="prompt-based",
            impl="peftctl_prompt.prefix.method:PTuningV2Method",
            config="peftctl_prompt.prefix.config:PTuningV2Config",
            mergeable=False,
        ),
    ]
