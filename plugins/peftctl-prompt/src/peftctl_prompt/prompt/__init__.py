"""Soft prompts on the input: prompt tuning, P-tuning, multitask prompt tuning."""

from __future__ import annotations

from typing import Any

_METHODS = (
    "PromptTuningMethod",
    "PTuningMethod",
    "MtpMethod",
)


def __getattr__(name: str) -> Any:
    if name in _METHODS:  # lazily: importing the package does not import torch
        from peftctl_prompt.prompt import method

        return getattr(method, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
