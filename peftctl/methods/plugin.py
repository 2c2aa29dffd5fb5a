"""Registers the core's built-in methods (through the ``peftctl`` entry-point group)."""

from __future__ import annotations

from peftctl import hookimpl
from peftctl.specs import MethodSpec


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="lora",
            summary="Low-rank adapters on linear layers (Hu et al., 2021)",
            category="reparameterised",
            impl="peftctl.methods.lora:LoraMethod",
            mergeable=True,
        ),
    ]
