"""The module names of a model, known without torch or weights where its shape is: the
default model, or a local Llama-family directory (its ``config.json``). What ``validate`` needs
to catch a ``method.target_modules`` that names nothing before any model loads."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from peftctl.errors import PeftctlError
from peftctl.facts.arch import DEFAULT_ARCH, Arch
from peftctl.facts.names import is_default_model
from peftctl.facts.targets import Targets, is_all_linear, unmatched_entry

# model types whose modules are named as in transformers' Llama (what Arch describes)
LLAMA_LIKE = ("llama", "mistral")


def known_arch(model_name: str) -> Arch | None:
    """The shape of ``model_name`` when it can be read without torch, else None (a hub id)."""
    if is_default_model(model_name):
        return DEFAULT_ARCH
    config = Path(model_name).expanduser() / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("model_type") not in LLAMA_LIKE:
        return None
    try:
        return Arch.from_hf_config(SimpleNamespace(**data))
    except (AttributeError, TypeError, ZeroDivisionError):
        return None


def module_names(arch: Arch) -> list[str]:
    """Full names of the decoder's linears and norms (``model.layers.0.mlp.up_proj``)."""
    norms = [
        f"model.layers.{i}.{norm}"
        for i in range(arch.num_layers)
        for norm in ("input_layernorm", "post_attention_layernorm")
    ]
    return [*arch.named_linears(), *norms, "model.norm"]


def check_targets(targets: Targets, model_name: str) -> None:
    """Raise when an entry of ``targets`` names no module of ``model_name`` (when its shape is
    known without loading it), listing what the model has."""
    arch = known_arch(model_name)
    if arch is None or is_all_linear(targets):
        return
    names = module_names(arch)
    entry = unmatched_entry(names, targets)
    if entry is not None:
        leaves = sorted({name.rpartition(".")[2] for name in names})
        raise PeftctlError(
            f"method.target_modules: '{entry}' names no module of {model_name}; its "
            f"modules are {', '.join(leaves)} (or all-linear)"
        )
