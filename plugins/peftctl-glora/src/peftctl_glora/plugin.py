"""Registers Glora and its recipe with peftctl. Keep this module light: no torch here,
since `peftctl list-methods` imports it on every call."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="glora",
            summary=(
                "Generalised LoRA: trained scale, shift and low-rank paths (Chavan et al., 2023)"
            ),
            category="reparameterised",
            # the implementation, imported only when used; the options, light: recipes
            # validate with them
            impl="peftctl_glora.method:GloraMethod",
            config="peftctl_glora.config:GloraConfig",
            mergeable=True,
        )
    ]
