"""Registers LN tuning and the recipes. No torch or peft here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="lntuning",
            summary="Train only the normalisation layers (Zhao et al., 2024)",
            category="selective",
            impl="peftctl_lntuning.method:LnTuningMethod",
            config="peftctl_lntuning.config:LnTuningConfig",
            mergeable=True,
        ),
    ]
