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
            impl="peftctl_psoft.method:PsoftMethod",  # imported only when used
            config="peftctl_psoft.config:PsoftConfig",  # light: recipes validate with it
            mergeable=True,
        )
    ]
