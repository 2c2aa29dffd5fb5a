"""Registers Deft and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="deft",
            summary="peft's DeftConfig: decomposed low-rank updates with a trained direction",
            category="reparameterised",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_deft.method:DeftMethod",
            config="peftctl_deft.config:DeftConfig",
            mergeable=True,
        )
    ]
