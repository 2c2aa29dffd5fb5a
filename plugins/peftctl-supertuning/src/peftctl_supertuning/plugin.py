"""Registers Supertuning and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="supertuning",
            summary="peft's SupertuningConfig: a chosen fraction of weight entries trains",
            category="selective",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_supertuning.method:SupertuningMethod",
            config="peftctl_supertuning.config:SupertuningConfig",
            mergeable=True,
        )
    ]
