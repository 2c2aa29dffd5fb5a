"""Continued training (``method.init_from``): the saved adapter a run starts from, checked
against the run's recipe before any model loads, and what ``run.json`` records about it.

A parent is a run directory (``recipe.yaml`` + ``adapter/``), its ``adapter/``, or a bare
adapter directory (peft's ``adapter_config.json``, or a full/freeze ``weights.safetensors``).
The adapter is loaded with the options it was saved with, so the recipe must state the
parent's method options: every one must be equal (only train, dataset and eval settings may
change), and the base model must be the parent's. No torch here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peftctl import typed
from peftctl.errors import PeftctlError
from peftctl.facts.families import family_of
from peftctl.facts.module_names import model_config
from peftctl.facts.names import model_identity
from peftctl.facts.targets import resolve_targets, uses_roles
from peftctl.run_files import ADAPTER, RECIPE, RUN_CARD

if TYPE_CHECKING:
    from peftctl.config.schema import RecipeConfig

PEFT_CONFIG = "adapter_config.json"
OWN_WEIGHTS = "weights.safetensors"
# adapter_config.json keys that shape peft weights, by the recipe option they come from
BARE_SHAPE_KEYS = {"r": "r", "target_modules": "target_modules"}
UNKNOWN = object()  # role targets of a model whose family is not known before it loads


@dataclass(frozen=True)
class Parent:
    """The adapter ``method.init_from`` names, and the run that trained it (None: bare)."""

    adapter_dir: Path
    run_dir: Path | None = None


def find_parent(init_from: str) -> Parent:
    """The :class:`Parent` at path ``init_from``; one-line errors for anything else."""
    path = Path(init_from).expanduser()
    key = f"method.init_from={init_from}"
    if not path.is_dir():
        raise PeftctlError(f"{key}: no such directory; pass a run directory or an adapter one")
    if (path / RECIPE).is_file():
        adapter = path / ADAPTER
        if not adapter.is_dir() or not any(adapter.iterdir()):
            raise PeftctlError(
                f"{key}: the run has no {ADAPTER}/ (it did not finish); finish it with "
                "`peftctl train --resume`, or start from a finished run"
            )
        return Parent(adapter, path)
    if path.name == ADAPTER and (path.parent / RECIPE).is_file():
        return Parent(path, path.parent)
    if (path / PEFT_CONFIG).is_file() or (path / OWN_WEIGHTS).is_file():
        return Parent(path)
    raise PeftctlError(
        f"{key} holds neither a run ({RECIPE}) nor an adapter ({PEFT_CONFIG} or "
        f"{OWN_WEIGHTS}); pass the output_dir of `peftctl train`"
    )


def check_parent(config: RecipeConfig) -> Parent | None:
    """The parent of ``config`` (None without ``method.init_from``), after checking that its
    method, method options and base model are ``config``'s."""
    if not config.method.init_from:
        return None
    parent = find_parent(config.method.init_from)
    if parent.run_dir is not None:
        _check_run(config, parent.run_dir)
    else:
        _check_bare(config, parent.adapter_dir)
    return parent


def _check_run(config: RecipeConfig, run: Path) -> None:
    from peftctl.config.recipe import load_recipe

    recorded = load_recipe(run / RECIPE)
    where = f"method.init_from={config.method.init_from}"
    if recorded.method.name != config.method.name:
        raise PeftctlError(
            f"{where} trained method {recorded.method.name}, this recipe trains "
            f"{config.method.name}; set method.name={recorded.method.name} or start from a "
            f"{config.method.name} run"
        )
    ours, theirs = typed.to_plain(config.method), typed.to_plain(recorded.method)
    model = config.model.name
    for key, value in theirs.items():
        if key in ("name", "init_from"):
            continue
        if _differ(_comparable(ours.get(key), model), _comparable(value, recorded.model.name)):
            raise PeftctlError(
                f"method.{key}={_show(ours.get(key))} differs from the parent run's "
                f"{key}={_show(value)} ({run / RECIPE}); its adapter keeps the parent's "
                f"options: set method.{key}={_show(value)}"
            )
    _check_model(config.model.name, recorded.model.name, where)


def _check_bare(config: RecipeConfig, adapter: Path) -> None:
    where = f"method.init_from={config.method.init_from}"
    if not (adapter / PEFT_CONFIG).is_file():
        return  # full/freeze weights: the names are checked when they are loaded
    from peftctl.file_checks import damaged_files

    with damaged_files(adapter, "pass another method.init_from, or restore the file"):
        saved = json.loads((adapter / PEFT_CONFIG).read_text(encoding="utf-8"))
    ours = typed.to_plain(config.method)
    for key, option in BARE_SHAPE_KEYS.items():
        if option not in ours or key not in saved:
            continue
        if _differ(_comparable(ours[option], config.model.name), _comparable(saved[key], None)):
            raise PeftctlError(
                f"method.{option}={_show(ours[option])} differs from {_show(saved[key])} in "
                f"{adapter / PEFT_CONFIG}; set method.{option}={_show(saved[key])}"
            )
    if saved.get("base_model_name_or_path"):
        _check_model(config.model.name, saved["base_model_name_or_path"], where)


def check_loaded_type(method: Any, model: Any, parent: Parent) -> None:
    """For a peft-backed method: a one-line error when the loaded adapter is of another peft
    type than the method trains (a bare adapter directory says only after loading)."""
    build = getattr(method, "peft_config", None)
    loaded = getattr(getattr(model, "module", model), "peft_config", {}).get("default")
    if build is None or loaded is None:
        return
    expected, found = _peft_type(build()), _peft_type(loaded)
    if found != expected:
        raise PeftctlError(
            f"method.init_from={parent.adapter_dir} holds a {found} adapter and method "
            f"{method.config.name} trains {expected}; set method.name to the method that saved it"
        )


def _peft_type(config: Any) -> str:
    return str(getattr(config.peft_type, "value", config.peft_type))


def _check_model(ours: str, theirs: str, where: str) -> None:
    if model_identity(ours) != model_identity(theirs):
        raise PeftctlError(
            f"{where} was trained on model {theirs}, this recipe trains {ours}; set "
            f"model.name={theirs}"
        )


def parent_card(parent: Parent) -> dict[str, Any]:
    """What ``run.json`` records under ``parent``: where the adapter came from, a hash of its
    weights and, for a run, the step and final losses it ended with."""
    card: dict[str, Any] = {
        "run_dir": str(parent.run_dir.resolve()) if parent.run_dir else None,
        "adapter_dir": str(parent.adapter_dir.resolve()),
        "adapter_sha256": adapter_sha256(parent.adapter_dir),
    }
    run_card = parent.run_dir / RUN_CARD if parent.run_dir else None
    if run_card is not None and run_card.is_file():
        training = json.loads(run_card.read_text(encoding="utf-8")).get("training", {})
        for key in ("adapter_step", "final_train_loss", "final_eval_loss"):
            card[key] = training.get(key)
    return card


def adapter_sha256(adapter_dir: Path) -> str:
    """SHA-256 over the adapter's weight files (``*.safetensors``, ``*.bin``), by name."""
    digest = hashlib.sha256()
    for path in sorted(adapter_dir.iterdir()):
        if path.suffix in (".safetensors", ".bin") and path.is_file():
            digest.update(path.name.encode() + b"\0")
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _comparable(value: Any, model_name: str | None) -> Any:
    """``value`` as compared with a parent's: a list of names sorted, its ``role:`` entries
    replaced by the module names they stand for in ``model_name``'s family (None when that
    family cannot be known before the model loads: :data:`UNKNOWN`, not compared)."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        return value
    if uses_roles(value):
        config = model_config(model_name) if model_name else None
        model_type = config.get("model_type") if config else None
        if family_of(model_type) is None:
            return UNKNOWN
        value = resolve_targets(list(value), model_type)
    return sorted(value)


def _differ(ours: Any, theirs: Any) -> bool:
    return ours is not UNKNOWN and theirs is not UNKNOWN and ours != theirs


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)
