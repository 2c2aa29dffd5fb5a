"""Registers Psoft and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="psoft",
            summary="Principal-subspace orthogonal fine-tuning (ICLR 2026)",
            category="reparameterised",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_psoft.method:PsoftMethod",
            config="peftctl_psoft.config:PsoftConfig",
            mergeable=True,
        )
    ]
