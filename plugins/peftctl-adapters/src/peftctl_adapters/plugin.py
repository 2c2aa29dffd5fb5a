"""Registers the bottleneck adapter methods and their recipes. No torch or adapters here."""

from __future__ import annotations

from peftctl.api import MethodSpec, hookimpl

_METHODS = (  # (name, class prefix, summary)
    ("double_seq_bn", "DoubleSeqBn", "Adapters after attention and MLP (Houlsby et al., 2019)"),
    ("seq_bn", "SeqBn", "Adapter after each MLP block (Pfeiffer et al., 2021)"),
    ("par_bn", "ParBn", "Adapter parallel to each MLP block, output x4 (He et al., 2022)"),
)


@hookimpl
def peftctl_register_methods() -> list[MethodSpec]:
    return [
        MethodSpec(
            name=name,
            summary=summary,
            category="additive",
            impl=f"peftctl_adapters.method:{cls}Method",
            config=f"peftctl_adapters.config:{cls}Config",
            mergeable=False,  # a non-linearity sits between the down and up projections
        )
        for name, cls, summary in _METHODS
    ]
