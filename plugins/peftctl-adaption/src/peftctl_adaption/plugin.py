"""Registers Llama-Adapter and its recipe. No torch or peft here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="llama_adapter",
            summary="Llama-Adapter: zero-gated prompts in the top attention layers "
            "(Zhang et al., 2023)",
            category="prompt-based",
            impl="peftctl_adaption.method:LlamaAdapterMethod",
            config="peftctl_adaption.config:LlamaAdapterConfig",
            mergeable=False,
        ),
    ]
