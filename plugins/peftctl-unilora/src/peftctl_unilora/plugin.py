"""Registers Unilora and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="unilora",
            summary="LoRA weights drawn from one shared trained vector (Li et al., 2025)",
            category="reparameterised",
            impl="peftctl_unilora.method:UniloraMethod",  # imported only when used
            config="peftctl_unilora.config:UniloraConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
