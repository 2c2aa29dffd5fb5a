"""The module names of a model, known without torch or weights where its ``config.json`` can be
read: the default model, a local directory, or a hub id already in the Hugging Face cache.
What ``validate`` needs to catch a ``method.target_modules`` that names nothing (or a role the
family lacks) before any model loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from peftctl.errors import PeftctlError, warn_once
from peftctl.facts.arch import DEFAULT_ARCH
from peftctl.facts.families import family_of
from peftctl.facts.names import is_default_model
from peftctl.facts.targets import (
    Targets,
    is_all_linear,
    is_peft_default,
    resolve_targets,
    unmatched_entry,
)


def model_config(model_name: str) -> dict[str, Any] | None:
    """The ``config.json`` of ``model_name`` as a dict, when it can be read without a download."""
    if is_default_model(model_name):
        return {"model_type": DEFAULT_ARCH.model_type, "num_hidden_layers": DEFAULT_ARCH.num_layers}
    path = Path(model_name).expanduser() / "config.json"
    if not path.is_file():
        path = _cached_hub_config(model_name)
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _cached_hub_config(model_name: str) -> Path | None:
    """``config.json`` of hub id ``model_name`` in the Hugging Face cache, if it is there."""
    if model_name.count("/") != 1 or model_name.startswith((".", "/", "~")):
        return None
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(model_name, "config.json")
    except ValueError:  # not a valid repo id
        return None
    return Path(found) if isinstance(found, str) else None


def check_targets(targets: Targets, model_name: str) -> None:
    """Raise when an entry of ``targets`` names no module of ``model_name``, or a role its
    family lacks (when its config can be read without loading it), listing what it has; for a
    family peftctl has no table for, say so and leave the check to model load."""
    if is_all_linear(targets) or is_peft_default(targets):
        return
    config = model_config(model_name)
    if config is None:
        return  # a hub id not downloaded yet: checked when it loads
    model_type = config.get("model_type")
    family = family_of(model_type)
    if family is None:
        warn_once(
            f"method.target_modules: model type '{model_type}' of {model_name} is not in "
            "peftctl's family table; its targets are checked when the model loads"
        )
        return
    names = family.module_names(family.num_layers(config) or 1)
    entry = unmatched_entry(names, resolve_targets(targets, model_type))
    if entry is not None:
        leaves = ", ".join(family.target_entry(p) for p in [*family.linears, *family.norms])
        raise PeftctlError(
            f"method.target_modules: '{entry}' names no module of {model_name} "
            f"({family.name}); its modules are {leaves} (or roles such as role:query, or "
            "all-linear)"
        )
