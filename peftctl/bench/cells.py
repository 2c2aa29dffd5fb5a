"""A bench spec expanded into cells: one ordinary ``peftctl train`` recipe per
(method, lr, dataset, seed). A cell's id is a stable hash of its resolved recipe. No torch."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from peftctl import typed
from peftctl.bench.spec import BenchSpec, DatasetEntry, MethodEntry
from peftctl.config.recipe import build_recipe
from peftctl.config.schema import RecipeConfig
from peftctl.errors import PeftctlError
from peftctl.yaml_files import read_yaml

# What every cell trains with unless the spec's train section says otherwise: a resumable
# checkpoint now and then, no periodic eval (the budget goes to training).
TRAIN_DEFAULTS: dict[str, Any] = {"save_every": 50, "eval_every": 0}
# Not part of a cell's identity: where data is read from does not change the experiment.
_UNHASHED = (("dataset", "data_dir"), ("output_dir",))


IDENTITY_KEYS = (
    "id",
    "name",
    "label",
    "method",
    "dataset",
    "seed",
    "lr",
    "lr_swept",
    "modes",
    "deploy",
    "processes",
)


@dataclass(frozen=True)
class Cell:
    """One run of the comparison."""

    id: str
    label: str
    method: str
    dataset: str
    seed: int
    lr: float
    lr_swept: bool  # the method lists several lrs: this cell competes for its (label, data, seed)
    recipe: RecipeConfig = field(compare=False, repr=False)
    # Every eval mode the trained adapter is scored in; the first is the recipe's. Not part
    # of the id: scoring in one more mode reuses the trained cell.
    modes: tuple[str, ...] = ()
    # Deployability is measured (``deploy: true``, the first seed's cells); not part of the id.
    deploy: bool = False
    # Training processes (torchrun); part of the id when more than one (a step sees more).
    processes: int = 1

    @property
    def name(self) -> str:
        """Directory name: readable, and unique through the id."""
        return f"{self.label}-{self.dataset}-s{self.seed}-lr{self.lr:g}-{self.id[:8]}"

    @property
    def group(self) -> tuple[str, str, int]:
        """Cells of one group differ only in lr; the best validation score is reported."""
        return (self.label, self.dataset, self.seed)

    def identity(self) -> dict[str, Any]:
        """What the state and result files say about the cell."""
        return {key: _plain(getattr(self, key)) for key in IDENTITY_KEYS}


def expand(spec: BenchSpec) -> list[Cell]:
    """Every cell of ``spec``: seeds outermost, so a whole seed's table fills in first."""
    cells = []
    for seed in spec.seeds:
        for dataset in spec.dataset_entries:
            for method in spec.method_entries:
                for lr in method.lrs or (None,):
                    cells.append(_cell(spec, method, dataset, seed, lr))
    return cells


def cell_recipe_data(
    spec: BenchSpec, method: MethodEntry, dataset: DatasetEntry, seed: int, lr: float | None
) -> dict[str, Any]:
    """The recipe mapping of one cell (see ``docs/bench.md``, "How a cell's recipe is made")."""
    base_method, base_lr = method_defaults(method.name, dataset.name)
    evaluation = {**spec.eval, **dataset.eval, "after_train": True}
    modes = eval_modes(spec, dataset)
    if modes:
        evaluation["mode"] = modes[0]
    train = {**TRAIN_DEFAULTS, **spec.train, **_budget(spec)}
    if base_lr is not None and "lr" not in spec.train:
        train["lr"] = base_lr
    if lr is not None:
        train["lr"] = lr
    return {
        "model": {"name": spec.model},
        "method": {**base_method, **method.options, "name": method.name},
        "dataset": {**spec.dataset, **dataset.options, "name": dataset.name},
        "train": train,
        "eval": evaluation,
        "seed": seed,
        "output_dir": "cell",
    }


def eval_modes(spec: BenchSpec, dataset: DatasetEntry) -> tuple[str, ...]:
    """The eval modes a dataset's cells are scored in: ``eval.mode`` of the dataset entry,
    else of the spec, as a tuple (a list there scores every cell in each mode; the first
    is the recipe's and selects the lr). Empty: the recipe's own mode."""
    value = dataset.eval.get("mode", spec.eval.get("mode"))
    if value is None:
        return ()
    modes = tuple(str(m) for m in value) if isinstance(value, (list, tuple)) else (str(value),)
    where = "datasets[].eval.mode" if "mode" in dataset.eval else "eval.mode"
    if not modes:
        raise PeftctlError(f"{where}: list at least one mode, e.g. [rank, generate]")
    if len(set(modes)) != len(modes):
        raise PeftctlError(f"{where}: {list(modes)} repeats a mode; list each once")
    return modes


def method_defaults(method: str, dataset: str) -> tuple[dict[str, Any], float | None]:
    """The method's own tuned settings: the ``method`` section and ``train.lr`` of its
    shipped recipe ``<method>_<dataset>`` (else ``<method>_sst2``); nothing when it has none."""
    from peftctl.recipes.finder import recipe_index

    index = recipe_index()
    path = index.get(f"{method}_{dataset}") or index.get(f"{method}_sst2")
    if path is None:
        return {}, None
    data = read_yaml(path)
    section = dict(data.get("method") or {})
    if section.get("name", method) != method:
        return {}, None
    lr = (data.get("train") or {}).get("lr")
    return section, float(lr) if lr is not None else None


def recipe_hash(config: RecipeConfig, processes: int = 1) -> str:
    """A stable id of what a recipe trains and evaluates with ``processes`` training
    processes: its values that differ from the schema's defaults (so a new option with a
    default, in a later version, keeps every id), the method and dataset names always."""
    plain = _non_default(config)
    plain.setdefault("method", {})["name"] = config.method.name
    plain.setdefault("dataset", {})["name"] = config.dataset.name
    for path in _UNHASHED:
        node = plain
        for key in path[:-1]:
            node = node.get(key, {})
        node.pop(path[-1], None)
    if processes > 1:
        plain["processes"] = processes
    text = json.dumps(plain, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _non_default(instance: Any) -> dict[str, Any]:
    """The fields of a dataclass tree whose values differ from their defaults, as plain data."""
    found: dict[str, Any] = {}
    for spec in dataclasses.fields(instance):
        value = getattr(instance, spec.name)
        if dataclasses.is_dataclass(value):
            nested = _non_default(value)
            if nested:
                found[spec.name] = nested
        elif value != typed.field_default(spec):
            found[spec.name] = typed.to_plain(value)
    return found


def _cell(
    spec: BenchSpec, method: MethodEntry, dataset: DatasetEntry, seed: int, lr: float | None
) -> Cell:
    data = cell_recipe_data(spec, method, dataset, seed, lr)
    where = f"cell {method.label} x {dataset.name} (seed {seed})"
    modes = eval_modes(spec, dataset)
    try:
        config = build_recipe(data)
        for mode in modes[1:]:  # each further mode must suit the dataset too
            build_recipe({**data, "eval": {**data["eval"], "mode": mode}})
    except PeftctlError as error:
        raise PeftctlError(f"{where}: {error}") from None
    return Cell(
        id=recipe_hash(config, spec.processes),
        label=method.label,
        method=method.name,
        dataset=str(config.dataset.name),
        seed=seed,
        lr=config.train.lr,
        lr_swept=len(method.lrs) > 1,
        recipe=config,
        modes=modes or (config.eval.mode,),
        deploy=spec.deploy and seed == spec.seeds[0],
        processes=spec.processes,
    )


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _budget(spec: BenchSpec) -> dict[str, int]:
    if spec.budget.max_steps:
        return {"max_steps": spec.budget.max_steps, "epochs": 1}
    return {"max_steps": 0, "epochs": spec.budget.epochs}
