"""The models a server answers with: the base, loaded once, and adapters by name.

An adapter saved by peft is loaded onto its own module tree whose tensors are the base's own
objects (:func:`shared_copy`): peft wraps the base's layers, it never writes their weights, so
an adapter costs its own weights and module objects only. An adapter that overwrites base
weights (``full``, ``freeze``, BitFit, ...) gets a private copy of the base. Plain LoRA
adapters are also loaded into one shared tree where each row of a batch picks its adapter
(:mod:`peftctl.serve.mixing`): the base's lane decodes them.
"""

from __future__ import annotations

import copy
import itertools
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peftctl.config.schema import RecipeConfig
from peftctl.errors import PeftctlError
from peftctl.evaluation.runner import Candidate, inference_device, load_base, load_candidate
from peftctl.facts.names import model_identity
from peftctl.methods.adapter_dir import CONFIG_FILE
from peftctl.run_files import ADAPTER, RECIPE
from peftctl.serve.continuous import decodes_continuously, prompts_only
from peftctl.serve.mixing import LoraMix, mixable


@dataclass
class Served:
    """One model the server answers as ``name``: the base (``method`` None) or an adapter."""

    name: str
    method: Any
    model: Any
    path: str | None = None
    continuous: bool = False  # decoded token by token with requests joining (continuous.py)
    decode_on: str | None = None  # the model whose lane decodes it, when not its own
    mixed: bool = False  # a LoRA adapter of the base lane's mix (mixing.py): rows name it

    def __post_init__(self) -> None:
        self.continuous = decodes_continuously(self.model, self.method)

    @property
    def lane_name(self) -> str:
        """The model whose lane decodes this one's requests."""
        return self.decode_on or self.name

    @property
    def in_lane(self) -> bool:
        """Whether its requests decode in a lane (its own or another's), not per request."""
        return self.continuous or self.decode_on is not None


class ServedModels:
    """The base model of ``config`` and the adapters added by name; thread-safe."""

    def __init__(self, config: RecipeConfig) -> None:
        self.config = config
        device_type, self.precision = inference_device(config)
        self.tokenizer, self.base = load_base(config, self.precision, device_type)
        self.base_name = config.model.name
        self._lock = threading.Lock()
        #: held by the engine for every forward pass, and while the LoRA mix changes
        self.compute = threading.Lock()
        self._mix = LoraMix(shared_copy(self.base))
        self._models: dict[str, Served] = {self.base_name: Served(self.base_name, None, self.base)}

    def names(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def get(self, name: str) -> Served | None:
        """The model served as ``name``; ``base:adapter`` names the adapter."""
        with self._lock:
            found = self._models.get(name)
            if found is None and ":" in name:
                base, _, adapter = name.rpartition(":")
                if model_identity(base) == model_identity(self.base_name):
                    found = self._models.get(adapter)
            return found

    def add(self, name: str, path: str) -> Served:
        """Load the adapter at ``path`` (a run directory or its ``adapter/``) as ``name``."""
        if not name or name == self.base_name or ":" in name:
            raise PeftctlError(f"adapter name '{name}' is empty, contains ':' or is the base's")
        with self._lock:
            if name in self._models:
                raise PeftctlError(f"an adapter named '{name}' is already loaded; unload it first")
        candidate = adapter_candidate(name, path, self.base_name)
        # a peft adapter wraps a tree sharing the base's tensors; one that overwrites base
        # weights gets a private copy
        tree = shared_copy(self.base) if _peft_saved(candidate) else copy.deepcopy(self.base)
        method, model = self._load(candidate, tree)
        served = Served(name, method, model, path)
        base = self._models[self.base_name]
        if base.continuous and prompts_only(model, method):
            served.decode_on = self.base_name  # after its prompt, the base decodes
        elif base.continuous and served.continuous and mixable(Path(candidate.adapter_dir)):
            self._join_mix(served, Path(candidate.adapter_dir))
        with self._lock:
            if name in self._models:
                self._leave_mix(served)
                raise PeftctlError(f"an adapter named '{name}' is already loaded; unload it first")
            self._models[name] = served
        return served

    def remove(self, name: str) -> None:
        """Forget adapter ``name`` (generations running on it finish first)."""
        with self._lock:
            if name == self.base_name:
                raise PeftctlError("the base model cannot be unloaded")
            served = self._models.pop(name, None)
            if served is None:
                raise PeftctlError(f"no adapter named '{name}' is loaded")
        self._leave_mix(served)

    def _join_mix(self, served: Served, adapter_dir: Path) -> None:
        """Decode ``served``'s rows in the base's lane, on the LoRA mix (the base's lane then
        runs on the mix: its rows use no adapter)."""
        versions = _versions(self.base)
        with self.compute:
            if self._mix.add(served.name, adapter_dir, served.model):
                served.decode_on, served.mixed = self.base_name, True
                self._models[self.base_name].model = self._mix.model
            else:
                print(
                    f"note: {served.name} decodes in a batch of its own (peft's mixed-adapter "
                    "forward does not give its answers)",
                    file=sys.stderr,
                )
        if _versions(self.base) != versions:  # peft wrote into the shared weights: a bug
            raise RuntimeError(f"mixing {served.name} changed the served base's weights")

    def _leave_mix(self, served: Served) -> None:
        if served.mixed:
            with self.compute:
                self._mix.remove(served.name)

    def _load(self, candidate: Candidate, tree: Any) -> tuple[Any, Any]:
        versions = _versions(self.base)
        method, model, _ = load_candidate(tree, candidate, self.precision)
        if _versions(self.base) != versions:  # peft wrote into the shared weights: a bug
            raise RuntimeError(f"loading {candidate.name} changed the served base's weights")
        return method, model


def shared_copy(model: Any) -> Any:
    """A copy of module tree ``model`` whose parameters and buffers are ``model``'s own."""
    memo = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
    return copy.deepcopy(model, memo)


def adapter_run(path: str) -> tuple[Path, RecipeConfig]:
    """(run directory, its recipe) of ``path``: a finished run or its ``adapter/``."""
    from peftctl.config.recipe import load_recipe

    given = Path(path).expanduser()
    run = given.parent if given.name == ADAPTER else given
    if not (run / RECIPE).is_file():
        raise PeftctlError(
            f"{path}: not a run directory (no {RECIPE}); pass the output_dir of `peftctl train`"
        )
    adapter = run / ADAPTER
    if not adapter.is_dir() or not any(adapter.iterdir()):
        raise PeftctlError(f"{path}: the run has no {ADAPTER}/ (it did not finish)")
    return run, load_recipe(run / RECIPE)


def adapter_candidate(name: str, path: str, base_name: str) -> Candidate:
    """The adapter of the run at ``path``, checked to be trained on ``base_name``."""
    run, recipe = adapter_run(path)
    if model_identity(recipe.model.name) != model_identity(base_name):
        raise PeftctlError(
            f"{path} was trained on {recipe.model.name}; this server's base is {base_name}: "
            f"serve it with --model {recipe.model.name}"
        )
    return Candidate(name, run, run / ADAPTER, recipe.method)


def _peft_saved(candidate: Candidate) -> bool:
    """Whether the adapter was written by peft (its config names a ``peft_type``)."""
    config = Path(candidate.adapter_dir or "") / CONFIG_FILE
    try:
        return "peft_type" in json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def _versions(model: Any) -> list[int]:
    return [t._version for t in itertools.chain(model.parameters(), model.buffers())]
