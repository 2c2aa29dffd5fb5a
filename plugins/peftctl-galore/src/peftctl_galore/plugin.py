"""Registers GaLore and its recipe. No torch or galore-torch here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name="galore",
            summary="Full training of the linear weights, low-rank projected gradients (2024)",
            # every targeted weight trains and the checkpoint is full weights, as with
            # `full`; only the optimiser state is low-rank (see README)
            category="baseline",
            impl="peftctl_galore.method:GaloreMethod",
            config="peftctl_galore.config:GaloreConfig",
            mergeable=True,  # the trained weights are the model's own
        )
    ]
