"""LoRA, the first built-in method: ``config`` (light, options) and ``method`` (peft-backed)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "LoraMethod":  # keeps "peftctl_lora:LoraMethod" working, lazily
        from peftctl_lora.method import LoraMethod

        return LoraMethod
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
