"""Registers Adamss and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="adamss",
            summary="Adaptive multi-subspace updates from the weight's SVD (NeurIPS 2025)",
            category="reparameterised",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_adamss.method:AdamssMethod",
            config="peftctl_adamss.config:AdamssConfig",
            mergeable=True,
        )
    ]
