"""Registers MyMethod and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="mymethod",
            summary="Trained per-channel scales on the outputs of linear layers",
            category="additive",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_mymethod.method:MyMethodMethod",
            config="peftctl_mymethod.config:MyMethodConfig",
            mergeable=True,
        )
    ]
