"""LoRA for peftctl, and its variants DoRA, LoRA+ and PiSSA (``variants``).

``plugin`` registers them, ``config`` holds LoRA's options (light) and ``method`` is the
implementation (peft, imported only when used). Packages that extend LoRA (peftctl-qlora,
peftctl-adalora) declare this package and import ``LoraConfig`` and ``LoraMethod`` from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from peftctl_lora.config import LoraConfig

if TYPE_CHECKING:
    from peftctl_lora.method import LoraMethod

__all__ = ["LoraConfig", "LoraMethod"]


def __getattr__(name: str) -> Any:
    if name == "LoraMethod":  # lazily: importing the package does not import torch
        from peftctl_lora.method import LoraMethod

        return LoraMethod
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
