"""Load a split of a dataset (registered or the user's own) as rendered examples.

Local first (``<data_dir>/<name>/<split>.jsonl``), then the Hugging Face hub. ``split`` is
``train``, ``eval`` or ``test``; each dataset maps them to its real split names.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peftctl.datasets import sources
from peftctl.datasets.config import DatasetConfig
from peftctl.datasets.formatting import Rendered, RowError
from peftctl.errors import PeftctlError
from peftctl.specs import DatasetSpec, load_object

SPLITS = ("train", "eval", "test")
TASK_METRICS = {
    "classification": ("accuracy", "f1"),
    "regression": ("pearson", "spearman"),
    "generation": ("exact_match",),
}
log = logging.getLogger("peftctl.datasets")


@dataclass(frozen=True)
class Example:
    """One rendered example: ``label`` is the verbalizer index (classification) else None;
    ``answer`` is the final answer a math set is scored on (None: score ``target``)."""

    id: str
    prompt: str
    target: str
    label: int | None = None
    answer: str | None = None


class Examples(list):
    """A list of :class:`Example` plus ``origin``: where they came from and how they were cut
    (source, real split, carving, sampling) -- for the run card."""

    def __init__(self, items: list[Example], origin: dict[str, Any]):
        super().__init__(items)
        self.origin = origin


def dataset_spec(cfg: DatasetConfig) -> DatasetSpec:
    """The spec ``cfg`` describes: a registered dataset, or one built from ``dataset.path``.

    Gives the evaluator ``task``, ``verbalizers`` and ``metrics`` (``dataset.metrics`` wins).
    """
    if cfg.is_user_dataset:
        from peftctl.datasets.user import user_spec

        spec = user_spec(cfg)
    else:
        from peftctl.plugin_manager import get_plugins

        spec = get_plugins().datasets.get(str(cfg.name))
    changes: dict[str, Any] = {}
    if cfg.metrics:
        changes["metrics"] = tuple(cfg.metrics)
    if cfg.instruction is not None:
        changes["instruction"] = cfg.instruction
    if cfg.splits:
        changes["splits"] = {**spec.splits, **cfg.splits}
    return dataclasses.replace(spec, **changes) if changes else spec


def load_split(cfg: DatasetConfig, split: str, *, seed: int = 42) -> Examples:
    """Rendered examples of ``split`` (train/eval/test); see :class:`Examples` for ``origin``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    spec = dataset_spec(cfg)
    real = real_split(spec, split)
    carve_seed = cfg.split_seed if cfg.split_seed is not None else seed
    if cfg.split_from is not None and (split == "train" or real == cfg.split_from):
        rows, source = read_split(spec, cfg, cfg.split_from)
        numbered, carving = _carve(rows, keep_train=split == "train", cfg=cfg, seed=carve_seed)
        origin: dict[str, Any] = {"source": source, "split": cfg.split_from, "carved": carving}
        log.info("%s %s: carved from %s (%s)", spec.name, split, cfg.split_from, carving)
    else:
        rows, source = read_split(spec, cfg, real)
        numbered = list(enumerate(rows))
        origin = {"source": source, "split": real}
    limit = cfg.max_train_samples if split == "train" else cfg.max_eval_samples
    if limit is not None and limit < len(numbered):
        picked = sorted(random.Random(seed).sample(range(len(numbered)), limit))
        origin["sampled"] = {"rows": limit, "of": len(numbered), "seed": seed}
        numbered = [numbered[i] for i in picked]
    examples = render_rows(spec, numbered, source)
    origin["examples"] = len(examples)
    return Examples(examples, origin)


def real_split(spec: DatasetSpec, split: str) -> str:
    """The dataset's own name for ``split``; a one-line error when it has none."""
    if split not in spec.splits:
        have = ", ".join(f"{k} ({v})" for k, v in spec.splits.items())
        raise PeftctlError(
            f"dataset '{spec.name}' has no {split} split (it has: {have}); "
            f"map one with dataset.splits.{split}=<real split>"
        )
    return spec.splits[split]


def read_split(spec: DatasetSpec, cfg: DatasetConfig, real: str) -> tuple[list[dict], str]:
    """Raw rows of real split ``real`` and where they came from (a path or ``hub:id``)."""
    if cfg.is_user_dataset:
        from peftctl.datasets.user import user_rows

        return user_rows(cfg, real)
    root = sources.data_dir(cfg.data_dir)
    path = sources.local_split_file(root, spec.options.get("local_dir", spec.name), real)
    if root is not None and path.is_file():
        return sources.read_rows(path), str(path)
    if not spec.hub_id:
        raise PeftctlError(f"dataset '{spec.name}' split {real}: no {path} and no hub id")
    try:
        rows = sources.hub_rows(spec.hub_id, spec.hub_config, real)
    except Exception as error:  # offline, unknown split, gated dataset...
        sample = sources.sample_file(spec.name, real)
        if sample is None:
            raise _not_available(spec, cfg, real, path, error) from error
        log.warning(
            "%s %s: no local copy and no hub; using the %d-row sample shipped with peftctl "
            "(set PEFTCTL_DATA_DIR for the whole split)",
            spec.name,
            real,
            sum(1 for _ in sample.open(encoding="utf-8")),
        )
        return sources.read_rows(sample), f"sample:{sample}"
    return rows, f"hub:{spec.hub_id}" + (f"/{spec.hub_config}" if spec.hub_config else "")


def render_rows(spec: DatasetSpec, numbered: list[tuple[int, dict]], source: str) -> list[Example]:
    """(row index, row) pairs -> examples via the spec's ``prepare`` and formatter.

    An example's id is its row's 0-based index in the split (``"<index>.<k>"`` when a row
    expands into several); errors name the 1-based row number.
    """
    prepare = spec.options.get("prepare")
    prepare_fn = load_object(prepare) if prepare else None
    formatter = load_object(spec.impl)
    examples = []
    for index, row in numbered:
        try:
            prepared = prepare_fn(row) if prepare_fn else [row]
            for part, item in enumerate(prepared):
                rendered: Rendered = formatter(item, spec)
                suffix = f".{part}" if len(prepared) > 1 else ""
                examples.append(Example(f"{index}{suffix}", *dataclasses.astuple(rendered)))
        except RowError as error:
            raise PeftctlError(f"{source}: row {index + 1}: {error}") from None
    return examples


def _carve(rows: list, *, keep_train: bool, cfg: DatasetConfig, seed: int):
    """Deterministic split of ``rows``: a seeded shuffle, ``split_ratio`` held out."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    held = max(1, round(len(rows) * cfg.split_ratio))
    if held >= len(rows):
        raise PeftctlError(
            f"dataset.split_from={cfg.split_from} has {len(rows)} rows, too few to carve"
        )
    chosen = sorted(order[held:] if keep_train else order[:held])
    carving = {
        "from": cfg.split_from,
        "ratio_held_out": cfg.split_ratio,
        "seed": seed,
        "part": "train" if keep_train else "held_out",
        "rows": len(chosen),
        "of": len(rows),
    }
    return [(i, rows[i]) for i in chosen], carving


def _not_available(
    spec: DatasetSpec, cfg: DatasetConfig, real: str, path: Path, error: Exception
) -> PeftctlError:
    reason = (
        str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
    )
    hub = spec.hub_id + (f" ({spec.hub_config})" if spec.hub_config else "")
    hint = "set dataset.data_dir or PEFTCTL_DATA_DIR to a folder holding it"
    others = [s for s in set(spec.splits.values()) if s != real and path.with_stem(s).is_file()]
    if real == spec.splits.get("train") and others and cfg.split_from is None:
        hint += f", or carve a train split with dataset.split_from={sorted(others)[0]}"
    return PeftctlError(
        f"dataset '{spec.name}' split {real} is not available offline: no {path} and the hub "
        f"copy {hub} failed to load ({type(error).__name__}: {reason}); {hint}"
    )
