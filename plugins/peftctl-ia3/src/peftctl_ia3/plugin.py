"""Registers IA3 and the recipes. No torch or peft here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="ia3",
            summary="Learned rescaling of keys, values and down_proj inputs (Liu et al., 2022)",
            category="additive",
            impl="peftctl_ia3.method:Ia3Method",
            config="peftctl_ia3.config:Ia3Config",
            mergeable=True,
        ),
    ]
