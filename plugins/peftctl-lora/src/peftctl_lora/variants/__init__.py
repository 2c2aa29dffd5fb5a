"""LoRA variants: DoRA, LoRA+ and PiSSA (``config`` light, ``method`` peft-backed)."""

from __future__ import annotations

from typing import Any

_METHODS = ("DoraMethod", "LoraPlusMethod", "PissaMethod")


def __getattr__(name: str) -> Any:
    if name in _METHODS:  # lazily: importing the package does not import torch
        from peftctl_lora.variants import method

        return getattr(method, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
