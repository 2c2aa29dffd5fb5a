"""The bench spec: which methods, datasets, seeds and budget to compare. No torch here.

A spec is YAML (a shipped name or a path) plus dotted ``key=value`` overrides, checked like
a recipe: every mistake is one line naming the key. Methods and datasets are names or
mappings (``{name: ia3, lr: [3e-3, 1e-2], r: 4}``); see ``docs/bench.md``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peftctl import typed
from peftctl.config.recipe import merge, parse_overrides
from peftctl.errors import PeftctlError, unknown_name
from peftctl.yaml_files import read_yaml

SPEC_SUFFIXES = (".yaml", ".yml")
BUDGET_KEYS = ("max_steps", "epochs")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class MethodEntry:
    """One method of the comparison: its options, and the learning rates to try."""

    name: str
    label: str
    lrs: tuple[float, ...] = ()  # empty: the method's recipe lr
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset of the comparison, with its own ``dataset.*`` and ``eval.*`` keys."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    eval: dict[str, Any] = field(default_factory=dict)


@dataclass
class Budget:
    """The training budget, the same for every cell."""

    max_steps: int = field(default=0, metadata={"help": "Optimiser steps per cell.", "min": 0})
    epochs: int = field(
        default=0, metadata={"help": "Passes over the train split (when max_steps is 0).", "min": 0}
    )

    def validate(self) -> None:
        if bool(self.max_steps) == bool(self.epochs):
            raise PeftctlError(
                "budget: set exactly one of budget.max_steps or budget.epochs (the same for "
                "every cell)"
            )


@dataclass
class BenchSpec:
    """A whole comparison: the cells are methods x lrs x datasets x seeds."""

    methods: list[Any] = field(metadata={"help": "Method names or {name, lr, label, options}."})
    datasets: list[Any] = field(metadata={"help": "Dataset names or {name, eval, options}."})
    model: str = field(default="smollm2-135m-instruct", metadata={"help": "The base model."})
    seeds: list[int] = field(default_factory=lambda: [0], metadata={"help": "Seeds per cell."})
    budget: Budget = field(default_factory=lambda: Budget(max_steps=100))
    train: dict[str, Any] = field(default_factory=dict, metadata={"help": "train.* for all."})
    dataset: dict[str, Any] = field(default_factory=dict, metadata={"help": "dataset.* for all."})
    eval: dict[str, Any] = field(default_factory=dict, metadata={"help": "eval.* for all."})
    description: str = field(default="", metadata={"help": "What this comparison is for."})
    deploy: bool = field(
        default=False,
        metadata={
            "help": "Measure deployability on the first seed's cells: merge, GGUF q8_0, latency."
        },
    )
    processes: int = field(
        default=1,
        metadata={
            "help": "Training processes per cell (torchrun; train.distributed=ddp or fsdp); "
            "train.batch_size is per process.",
            "min": 1,
        },
    )

    def validate(self) -> None:
        if not self.methods:
            raise PeftctlError("methods: list at least one method")
        if not self.datasets:
            raise PeftctlError("datasets: list at least one dataset")
        if not self.seeds:
            raise PeftctlError("seeds: list at least one seed, e.g. seeds=[0]")
        if len(set(self.seeds)) != len(self.seeds):
            raise PeftctlError(f"seeds: {self.seeds} repeats a seed; list each once")
        for section in ("train", "dataset", "eval"):
            for key in ("output_dir", "seed"):
                if key in getattr(self, section):
                    raise PeftctlError(f"{section}.{key} is set by the bench per cell; remove it")
        for key in BUDGET_KEYS:
            if key in self.train:
                raise PeftctlError(f"train.{key}: set the budget with budget.{key} instead")
        self._check_processes()
        self.methods = [_method_entry(item, i) for i, item in enumerate(self.methods)]
        self.datasets = [_dataset_entry(item, i) for i, item in enumerate(self.datasets)]
        _unique(
            [m.label for m in self.methods],
            "methods",
            "tell them apart with label, e.g. {name: lora, label: lora-r16, r: 16}",
        )
        _unique([d.name for d in self.datasets], "datasets", "list each dataset once")

    def _check_processes(self) -> None:
        """``processes`` and ``train.distributed`` must agree (as ``peftctl train`` checks)."""
        strategy = self.train.get("distributed", "auto")
        if self.processes > 1 and strategy == "none":
            raise PeftctlError(
                f"processes={self.processes} with train.distributed=none; set it to ddp, fsdp "
                "or auto"
            )
        if self.processes == 1 and strategy in ("ddp", "fsdp"):
            raise PeftctlError(
                f"train.distributed={strategy} needs several processes per cell: set "
                "processes: 2 or more"
            )

    @property
    def method_entries(self) -> list[MethodEntry]:
        return list(self.methods)

    @property
    def dataset_entries(self) -> list[DatasetEntry]:
        return list(self.datasets)


def load_spec(source: str | Path, overrides: Sequence[str] = ()) -> BenchSpec:
    """The bench spec ``source`` (shipped name or path) with ``overrides``, validated, and
    every cell's recipe checked (unknown method options, datasets, eval modes)."""
    path = find_spec(str(source))
    data = read_yaml(path)
    if not data:
        raise PeftctlError(f"bench spec {path} is empty; list methods and datasets in it")
    from peftctl.bench.cells import expand

    try:
        spec = build_spec(data, overrides)
        expand(spec)  # builds (and so validates) every cell's recipe
    except PeftctlError as error:
        raise PeftctlError(f"bench spec {path.name}: {error}") from None
    return spec


def build_spec(data: Mapping[str, Any], overrides: Sequence[str] = ()) -> BenchSpec:
    """A validated :class:`BenchSpec` from a mapping plus ``key=value`` overrides."""
    merged = merge(copy.deepcopy(dict(data)), _typed_overrides(overrides))
    return typed.build(BenchSpec, merged)


def shipped_spec_dir() -> Path:
    """``recipes/bench/`` of the core (a source checkout or the installed wheel's copy)."""
    from peftctl.recipes.plugin import builtin_recipe_dir

    return builtin_recipe_dir() / "bench"


def shipped_specs() -> dict[str, Path]:
    """``{name: path}`` of the bench specs shipped with the core."""
    folder = shipped_spec_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix in SPEC_SUFFIXES}


def find_spec(name_or_path: str) -> Path:
    """The spec file for a shipped name or an existing path."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    shipped = shipped_specs()
    if name_or_path in shipped:  # a shipped name, even beside a folder of that name (its bench)
        return shipped[name_or_path]
    if path.is_dir():
        raise PeftctlError(f"bench spec '{name_or_path}' is a directory; pass a YAML file")
    if path.suffix in SPEC_SUFFIXES or "/" in name_or_path:
        raise PeftctlError(f"bench spec file '{name_or_path}' does not exist; check the path")
    raise unknown_name("bench spec", name_or_path, shipped, "see `peftctl bench list`")


def _typed_overrides(overrides: Sequence[str]) -> dict[str, Any]:
    """Overrides as a tree; list values (``seeds=[0,1]``, ``methods=lora,ia3``) parsed."""
    tree = parse_overrides(overrides)
    for key in ("methods", "datasets", "seeds"):
        value = tree.get(key)
        if isinstance(value, str):
            tree[key] = [part.strip() for part in value.strip("[]").split(",") if part.strip()]
    return tree


def _method_entry(item: Any, index: int) -> MethodEntry:
    if isinstance(item, MethodEntry):
        return item
    where = f"methods[{index}]"
    data = _entry_mapping(item, where)
    name = str(data.pop("name"))
    label = str(data.pop("label", name))
    if not _LABEL.match(label):
        raise PeftctlError(f"{where}.label '{label}' may hold letters, digits and _.+- only")
    lrs = data.pop("lr", ())
    lrs = lrs if isinstance(lrs, (list, tuple)) else [lrs]
    values = tuple(typed.coerce(lr, float, f"{where}.lr") for lr in lrs)
    if any(lr <= 0 for lr in values):
        raise PeftctlError(f"{where}.lr: learning rates must be positive, not {list(values)}")
    if len(set(values)) != len(values):
        raise PeftctlError(f"{where}.lr: {list(values)} repeats a value; list each once")
    return MethodEntry(name=name, label=label, lrs=values, options=data)


def _dataset_entry(item: Any, index: int) -> DatasetEntry:
    if isinstance(item, DatasetEntry):
        return item
    where = f"datasets[{index}]"
    data = _entry_mapping(item, where)
    name = str(data.pop("name"))
    evaluation = data.pop("eval", None) or {}
    if not isinstance(evaluation, Mapping):
        raise PeftctlError(f"{where}.eval must be a mapping of eval.* keys")
    return DatasetEntry(name=name, options=data, eval=dict(evaluation))


def _entry_mapping(item: Any, where: str) -> dict[str, Any]:
    if isinstance(item, str) and item.strip():
        return {"name": item.strip()}
    if isinstance(item, Mapping) and item.get("name"):
        return dict(item)
    raise PeftctlError(f"{where} must be a name or a mapping with a name, not {item!r}")


def _unique(names: list[str], key: str, hint: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise PeftctlError(f"{key}: '{name}' appears twice; {hint}")
        seen.add(name)
