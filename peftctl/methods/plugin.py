"""Registers the core's non-PEFT baselines (through the ``peftctl`` entry-point group); every
PEFT method comes from its own package (:mod:`peftctl.standard_packages`)."""

from __future__ import annotations

from peftctl import hookimpl
from peftctl.specs import MethodSpec


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="full",
            summary="Full fine-tuning: every parameter trains",
            category="baseline",
            impl="peftctl.methods.baselines:FullMethod",
            config="peftctl.methods.baselines.config:FullConfig",
            mergeable=True,
        ),
        MethodSpec(
            name="freeze",
            summary="Freeze-tuning: only the last k decoder layers train",
            category="baseline",
            impl="peftctl.methods.baselines:FreezeMethod",
            config="peftctl.methods.baselines.config:FreezeConfig",
            mergeable=True,
        ),
    ]
