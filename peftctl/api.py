"""The public API for plugins: everything a plugin package imports from peftctl.

A plugin imports from this module only (and its tests from :mod:`peftctl.testing`); every
other module of peftctl is internal and may change between minor versions. Importing this
module does not import torch: the torch-bound bases (:class:`PeftMethod`,
:class:`OwnWeightsMethod`) and :func:`target_linears`' use of torch load on first access.

Hooks and records (a dataset's ``impl`` formatter returns a :class:`Rendered`)::

    from peftctl.api import MethodSpec, hookimpl, plugin_recipe_dir

Methods: :class:`MethodConfig` (options, light; :class:`TargetModulesConfig` for a method
that adapts named modules, with the shared checks), :class:`Method` (the contract),
:class:`PeftMethod` (a peft-backed method: implement ``peft_config()``),
:class:`OwnWeightsMethod` (train a subset of the model's own weights: implement
``trainable_names()``), :class:`Arch` (torch-free shapes for ``trainable_estimate``),
``target_modules`` matching with peft's semantics, and ``adapter/`` directory helpers.
(LoRA, which variants such as QLoRA extend, is the package ``peftctl-lora`` since 0.3:
``from peftctl_lora import LoraConfig, LoraMethod``.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from peftctl import __version__, hookimpl
from peftctl.datasets.formatting import Rendered
from peftctl.errors import PeftctlError
from peftctl.facts.arch import DEFAULT_ARCH, Arch
from peftctl.facts.targets import (
    ALL_LINEAR,
    Targets,
    is_all_linear,
    matches,
    peft_targets,
    resolve_targets,
    uses_roles,
)
from peftctl.methods.adapter_dir import load_adapter_dir, save_adapter_dir
from peftctl.methods.base import (
    Method,
    MethodConfig,
    TargetModulesConfig,
    causal_lm,
    lm_logits,
    write_dir_atomically,
)
from peftctl.methods.targets import target_linears
from peftctl.models.transformers_compat import cache_kwargs, is_checkpointing, returned_cache
from peftctl.plugin_manager import plugin_recipe_dir
from peftctl.specs import METHOD_CATEGORIES, TASK_TYPES, DatasetSpec, MethodSpec, MetricSpec

if TYPE_CHECKING:
    from peftctl.methods.own_weights import OwnWeightsMethod
    from peftctl.methods.peft_method import PeftMethod

# name -> module; imported on first access because they import torch (and peft)
_LAZY = {
    "PeftMethod": "peftctl.methods.peft_method",
    "OwnWeightsMethod": "peftctl.methods.own_weights",
}

__all__ = [
    "ALL_LINEAR",
    "DEFAULT_ARCH",
    "METHOD_CATEGORIES",
    "TASK_TYPES",
    "Arch",
    "DatasetSpec",
    "Method",
    "MethodConfig",
    "MethodSpec",
    "MetricSpec",
    "OwnWeightsMethod",
    "PeftMethod",
    "PeftctlError",
    "Rendered",
    "TargetModulesConfig",
    "Targets",
    "__version__",
    "cache_kwargs",
    "causal_lm",
    "hookimpl",
    "is_all_linear",
    "is_checkpointing",
    "lm_logits",
    "load_adapter_dir",
    "matches",
    "peft_targets",
    "plugin_recipe_dir",
    "resolve_targets",
    "returned_cache",
    "save_adapter_dir",
    "target_linears",
    "uses_roles",
    "write_dir_atomically",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
