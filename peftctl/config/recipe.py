"""Recipes: YAML file + dotted ``key=value`` overrides -> a validated :class:`RecipeConfig`.

Everything here runs before any model is loaded and without importing torch.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from peftctl import typed
from peftctl.errors import PeftctlError
from peftctl.methods.base import MethodConfig
from peftctl.run_files import RUN_CARD
from peftctl.specs import load_object
from peftctl.yaml_files import read_yaml

if TYPE_CHECKING:
    from peftctl.config.schema import RecipeConfig

DEFAULT_METHOD = "lora"


def load_recipe(source: str | Path, overrides: Sequence[str] = ()) -> RecipeConfig:
    """The recipe ``source`` (registered name or path) with ``overrides`` applied, validated."""
    from peftctl.datasets.definitions import anchor_paths
    from peftctl.recipes.finder import find_recipe

    path = find_recipe(str(source))
    data = read_yaml(path)
    if not data:
        raise PeftctlError(
            f"recipe {path} is empty; start from a shipped one: peftctl recipes cp lora_sst2 "
            f"{path} --force"
        )
    _check_run_method_installed(path, data)
    if isinstance(data.get("dataset"), Mapping):  # its files are found beside the recipe
        data["dataset"] = anchor_paths(data["dataset"], path.parent)
    return build_recipe(data, overrides)


def _check_run_method_installed(path: Path, data: Mapping[str, Any]) -> None:
    """A run's recipe whose method is no longer installed: name the package that provided it,
    as the run card beside it (``run.json``) recorded. (A known package's method is named by
    the method catalogue: runs older than the package recorded the core as its owner.)"""
    from peftctl.plugin_manager import get_plugins

    card = path.parent / RUN_CARD
    method = data.get("method")
    name = method.get("name") if isinstance(method, Mapping) else None
    plugins = get_plugins()
    known = name in plugins.methods or name in plugins.missing_methods
    if not card.is_file() or not isinstance(name, str) or known:
        return
    try:
        owner = json.loads(card.read_text(encoding="utf-8"))["versions"]["method_plugin"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # no record of the owner: the plain unknown-method error follows
    if isinstance(owner, str) and owner:
        raise PeftctlError(
            f"method '{name}' comes from {owner} ({RUN_CARD}); install it "
            f"(pip install {owner.split()[0]})"
        )


def build_recipe(data: Mapping[str, Any], overrides: Sequence[str] = ()) -> RecipeConfig:
    """A validated :class:`RecipeConfig` from a recipe mapping plus ``key=value`` overrides."""
    from peftctl.config.schema import RecipeConfig
    from peftctl.datasets.definitions import expand_section

    merged = merge(copy.deepcopy(dict(data)), parse_overrides(overrides))
    if isinstance(merged.get("dataset"), Mapping):
        merged["dataset"] = expand_section(merged["dataset"])
    method_data = merged.pop("method", None) or {}
    if not isinstance(method_data, Mapping):
        raise PeftctlError(f"method must be a mapping with a name, not {method_data!r}")
    method_data = dict(method_data)
    method_data.setdefault("name", DEFAULT_METHOD)
    config_class = method_config_class(str(method_data["name"]))
    method = typed.build(config_class, method_data, "method")
    return typed.build(RecipeConfig, {**merged, "method": method})


def method_config_class(name: str) -> type[MethodConfig]:
    """The options dataclass of method ``name``, imported without torch where the plugin
    declares it in its spec (``MethodSpec.config``); a method without one has no options
    beyond ``name``."""
    from peftctl.plugin_manager import get_plugins

    spec = get_plugins().methods.get(name)
    if spec.config is None:
        return MethodConfig
    try:
        return load_object(spec.config)
    except Exception as exc:
        raise PeftctlError(
            f"method '{name}' from {spec.owner} failed to import its config {spec.config}: "
            f"{type(exc).__name__}: {exc}; reinstall that package"
        ) from exc


def parse_overrides(overrides: Sequence[str]) -> dict[str, Any]:
    """``["train.lr=1e-4", "seed=1"]`` -> ``{"train": {"lr": "1e-4"}, "seed": "1"}``.

    Values stay text (lists in ``[...]`` or ``a,b`` form); the schema types them.
    """
    tree: dict[str, Any] = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise PeftctlError(f"override '{item}' must look like section.key=value")
        parsed: Any = value
        if value.strip().startswith(("[", "{")):
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError as error:
                raise PeftctlError(f"override '{item}': value is not valid YAML") from error
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise PeftctlError(f"override '{item}' conflicts with an earlier '{part}=...'")
            node = child
        node[leaf] = parsed
    return tree


def merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``update`` into ``base`` (mappings merge, anything else replaces)."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            base[key] = merge(dict(base[key]), value)
        else:
            base[key] = value
    return base


def dump_recipe(config: RecipeConfig, command: str = "") -> str:
    """The resolved recipe as YAML (what ``recipe.yaml`` next to the results holds)."""
    header = "# Resolved recipe written by peftctl.\n"
    if command:
        header += f"# Produced by: {command}\n"
    plain = typed.to_plain(config)
    ordered = {key: plain[key] for key in ("model", "method", "dataset", "train", "eval")}
    ordered.update(seed=plain["seed"], output_dir=plain["output_dir"])
    return header + yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True)
