"""Registers Tinylora and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="tinylora",
            summary="LoRA updates from a tiny shared trained vector (Morris et al., 2026)",
            category="reparameterised",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_tinylora.method:TinyloraMethod",
            config="peftctl_tinylora.config:TinyloraConfig",
            mergeable=True,
        )
    ]
