"""Key/value prefixes in every layer: prefix tuning and P-tuning v2."""

from __future__ import annotations

from typing import Any

_METHODS = (
    "PrefixTuningMethod",
    "PTuningV2Method",
)


def __getattr__(name: str) -> Any:
    if name in _METHODS:  # lazily: importing the package does not import torch
        from peftctl_prompt.prefix import method

        return getattr(method, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
