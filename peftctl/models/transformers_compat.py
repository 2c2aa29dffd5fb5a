"""What differs between the transformers releases peftctl supports (4.57 to 5.x), in one place.

transformers 5.24 renamed a forward pass's key/value cache ``past_key_values`` -> ``cache`` (the
old name warns, and goes in 5.40) and gradient checkpointing -> activation checkpointing (the
old names warn, and go in 6.0); 5.0 moved ``rope_theta`` and ``rope_scaling`` into
``rope_parameters``. Light to import: no torch, no transformers.
"""

from __future__ import annotations

import inspect
from typing import Any

OLD_CACHE, NEW_CACHE = "past_key_values", "cache"


def cache_kwargs(module: Any, cache: Any) -> dict[str, Any]:
    """``cache`` as the keyword argument ``module``'s forward takes it: ``{"cache": cache}``
    (transformers >= 5.24) or ``{"past_key_values": cache}``."""
    parameters = inspect.signature(module.forward).parameters
    return {NEW_CACHE if NEW_CACHE in parameters else OLD_CACHE: cache}


def returned_cache(output: Any) -> Any:
    """The key/value cache a forward pass returned (``output.cache`` or ``.past_key_values``)."""
    cache = getattr(output, NEW_CACHE, None) if NEW_CACHE in output else None
    return cache if cache is not None else getattr(output, OLD_CACHE, None)


def enable_checkpointing(model: Any, **kwargs: Any) -> None:
    """Activation (gradient) checkpointing on ``model`` with checkpoint ``kwargs``
    (e.g. ``use_reentrant=False``)."""
    enable = getattr(model, "activation_checkpointing_enable", None)
    if enable is not None:
        enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def is_checkpointing(model: Any) -> bool:
    """Whether activation (gradient) checkpointing is on for ``model``."""
    if hasattr(type(model), "is_activation_checkpointing"):
        return bool(model.is_activation_checkpointing)
    return bool(getattr(model, "is_gradient_checkpointing", False))


def rope_parameters(config: Any) -> dict[str, Any]:
    """``rope_theta`` and the scaling keys of a model config: transformers 5's
    ``rope_parameters``, or 4.x's ``rope_theta`` and ``rope_scaling`` attributes."""
    parameters = getattr(config, "rope_parameters", None)
    if parameters:
        return dict(parameters)
    return {"rope_theta": config.rope_theta, **(getattr(config, "rope_scaling", None) or {})}
