"""The ``dataset.*`` section of a recipe: which data, how much of it, and how it is cut.

Plain dataclass (no torch, no ``datasets``) so recipes validate cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from peftctl.errors import PeftctlError
from peftctl.specs import TASK_TYPES

DEFAULT_DATASET = "sst2"
_SAFE_NAME = re.compile(r"[^a-z0-9_]+")


@dataclass
class DatasetConfig:
    """Where examples come from and how they become prompts and targets."""

    name: str | None = field(
        default=DEFAULT_DATASET,
        metadata={
            "help": "A registered dataset (peftctl list-datasets). With `path` it only labels "
            "the run (default: the file's stem)."
        },
    )
    data_dir: str | None = field(
        default=None,
        metadata={
            "help": "Folder holding <name>/<split>.jsonl copies; unset = env PEFTCTL_DATA_DIR, "
            "then the Hugging Face hub."
        },
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Keep only the first N training examples.", "min": 1}
    )
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Keep only the first N eval/test examples.", "min": 1}
    )
    cutoff_len: int = field(
        default=1024,
        metadata={
            "help": "Longest tokenised example (prompt + response); longer prompts lose tokens "
            "from their start.",
            "min": 8,
        },
    )
    split_from: str | None = field(
        default=None,
        metadata={
            "help": "Carve the train split out of this split (its real name, e.g. validation) "
            "when there is no train split; that split keeps the rest."
        },
    )
    split_ratio: float = field(
        default=0.2,
        metadata={
            "help": "Fraction of `split_from` held out (kept for eval); the rest trains.",
            "min": 0.0,
            "max": 1.0,
        },
    )
    split_seed: int | None = field(
        default=None, metadata={"help": "Seed of the carving shuffle; unset = the run's seed."}
    )
    path: str | None = field(
        default=None,
        metadata={
            "help": "Your own data: a .jsonl/.csv/.parquet file (the train split) or a hub id."
        },
    )
    eval_path: str | None = field(
        default=None,
        metadata={"help": "Eval file for `path`; unset = carve eval out of `path` (split_from)."},
    )
    hub_config: str | None = field(
        default=None, metadata={"help": "Hub subset (configuration) when `path` is a hub id."}
    )
    splits: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "help": "Real split names for train/eval/test, e.g. {eval: test}; overrides the "
            "dataset's own."
        },
    )
    instruction: str | None = field(
        default=None,
        metadata={
            "help": "Text put before every prompt (line break after); overrides the dataset's own."
        },
    )
    template: str | None = field(
        default=None,
        metadata={"help": "Prompt body with {column} placeholders, e.g. 'Review: {text}'."},
    )
    target: str | None = field(
        default=None, metadata={"help": "Column holding the answer (label or text)."}
    )
    verbalizer: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "help": "Label value -> answer text, e.g. {0: negative, 1: positive}; makes the "
            "task classification."
        },
    )
    task: str | None = field(
        default=None,
        metadata={
            "help": "classification, regression or generation; unset = classification with a "
            "verbalizer, else generation.",
            "choices": TASK_TYPES,
        },
    )
    metrics: list[str] = field(
        default_factory=list,
        metadata={"help": "Metrics to report; empty = the dataset's (or the task's) defaults."},
    )

    @property
    def is_user_dataset(self) -> bool:
        """True when the data comes from ``path`` rather than a registered dataset."""
        return self.path is not None

    def validate(self) -> None:
        if self.path is None:
            if not self.name:
                raise PeftctlError("set dataset.name (peftctl list-datasets) or dataset.path")
            for key in ("template", "target", "eval_path", "hub_config"):
                if getattr(self, key) is not None:
                    raise PeftctlError(f"dataset.{key} needs dataset.path (your own data)")
            if self.verbalizer:
                raise PeftctlError("dataset.verbalizer needs dataset.path (your own data)")
        else:
            self._validate_user()
        if self.split_from is not None and not 0.0 < self.split_ratio < 1.0:
            raise PeftctlError(
                f"dataset.split_ratio must be between 0 and 1 (exclusive), not {self.split_ratio}"
            )
        unknown = set(self.splits) - {"train", "eval", "test"}
        if unknown:
            raise PeftctlError(
                f"dataset.splits: unknown key '{sorted(unknown)[0]}'; use train, eval or test"
            )

    def _validate_user(self) -> None:
        if self.name in (None, "", DEFAULT_DATASET):
            self.name = _SAFE_NAME.sub("_", Path(str(self.path)).stem.lower()).strip("_") or "data"
        if not self.template:
            raise PeftctlError(
                "dataset.template is required with dataset.path, e.g. template='Review: {text}'"
            )
        if not self.target:
            raise PeftctlError("dataset.target (the answer column) is required with dataset.path")
        task = self.resolved_task
        if task == "classification" and not self.verbalizer:
            raise PeftctlError(
                "dataset.task=classification needs dataset.verbalizer (label value -> text)"
            )
        if task != "classification" and self.verbalizer:
            raise PeftctlError(f"dataset.verbalizer only applies to classification, not {task}")
        self._check_files()

    def _check_files(self) -> None:
        """The user's files exist and have the columns the template and target name."""
        from peftctl.datasets import sources
        from peftctl.datasets.formatting import template_fields

        if not sources.looks_like_file(str(self.path)):
            return  # a hub id: checked when loaded
        needed = dict.fromkeys([*template_fields(str(self.template)), str(self.target)])
        for key in ("path", "eval_path"):
            value = getattr(self, key)
            if value is None:
                continue
            file = Path(value).expanduser()
            if not file.is_file():
                raise PeftctlError(f"dataset.{key}={value}: no such file")
            columns = sources.first_columns(file)
            if {"inputs", "targets"} <= set(columns):
                continue  # pre-rendered rows (see formatting._is_prerendered)
            missing = [name for name in needed if name not in columns]
            if missing:
                raise PeftctlError(
                    f"{file}: no column '{missing[0]}' (named by dataset.template or "
                    f"dataset.target); its first row has: {', '.join(columns) or 'nothing'}"
                )

    @property
    def resolved_task(self) -> str | None:
        """The user dataset's task (explicit, else from the verbalizer); None when registered."""
        if self.task is not None:
            return self.task
        if self.path is None:
            return None
        return "classification" if self.verbalizer else "generation"
