"""Frozen records that plugins register. They name their implementation by import string,
so listing never imports it; ``load()`` imports it when the thing is actually used."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from peftctl.errors import PeftctlError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
IMPL_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")

METHOD_CATEGORIES = (
    "additive",
    "selective",
    "reparameterised",
    "prompt-based",
    "hybrid",
    "baseline",
)
TASK_TYPES = ("classification", "regression", "generation")


def load_object(impl: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    from peftctl.compat_imports import warn_internal_imports

    module_name, _, attr_path = impl.partition(":")
    obj: Any = importlib.import_module(module_name)
    warn_internal_imports(module_name)
    for attr in attr_path.split("."):
        obj = getattr(obj, attr)
    return obj


@dataclass(frozen=True, kw_only=True)
class Spec:
    """Fields every registered record has. ``package``/``version`` are filled in by discovery."""

    kind: ClassVar[str] = "thing"

    name: str
    summary: str
    impl: str
    package: str = ""
    version: str = ""

    def validate(self) -> None:
        """Raise ``ValueError`` when the record is malformed (a plugin bug)."""
        if not NAME_PATTERN.match(self.name):
            raise ValueError(f"{self.kind} name {self.name!r} must match {NAME_PATTERN.pattern}")
        if not IMPL_PATTERN.match(self.impl):
            raise ValueError(f"{self.kind} {self.name!r}: impl {self.impl!r} is not 'module:attr'")

    @property
    def owner(self) -> str:
        return f"{self.package} {self.version}".strip()

    def load(self) -> Any:
        """Import the implementation; a failure is reported as the plugin's, in one line."""
        try:
            return load_object(self.impl)
        except Exception as exc:
            raise PeftctlError(
                f"{self.kind} '{self.name}' from {self.owner} failed to import {self.impl}: "
                f"{type(exc).__name__}: {exc}; reinstall that package or disable it with "
                f"PEFTCTL_DISABLE_PLUGINS"
            ) from exc


@dataclass(frozen=True, kw_only=True)
class MethodSpec(Spec):
    """A PEFT method. ``impl`` names a :class:`peftctl.methods.base.Method` subclass."""

    kind: ClassVar[str] = "method"

    category: str
    mergeable: bool = False
    #: "module:attr" of the method's options dataclass, in a module light enough to import
    #: without torch (recipes are validated with it); None: no options beyond ``name``.
    config: str | None = None

    def validate(self) -> None:
        super().validate()
        if self.category not in METHOD_CATEGORIES:
            raise ValueError(f"method {self.name!r}: category must be one of {METHOD_CATEGORIES}")
        if self.config is not None and not IMPL_PATTERN.match(self.config):
            raise ValueError(f"method {self.name!r}: config {self.config!r} is not 'module:attr'")


@dataclass(frozen=True, kw_only=True)
class MetricSpec(Spec):
    """A metric. ``impl`` names a callable
    ``(predictions, references, *, labels=None, **requires) -> float`` (see peftctl.metrics)."""

    kind: ClassVar[str] = "metric"

    higher_is_better: bool = True
    #: Inputs beyond predictions/references, passed by keyword by the evaluator:
    #: "primary" (the dataset's primary score), "trainable_params", "inference_cost".
    requires: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DatasetSpec(Spec):
    """A dataset, declared as data: where it lives, how a row becomes prompt and target.

    ``impl`` names the row formatter (``row -> (prompt, target)``) used for this dataset.
    """

    kind: ClassVar[str] = "dataset"

    task: str
    metrics: tuple[str, ...]
    hub_id: str | None = None
    hub_config: str | None = None
    instruction: str = ""
    verbalizers: tuple[str, ...] = ()
    splits: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        super().validate()
        if self.task not in TASK_TYPES:
            raise ValueError(f"dataset {self.name!r}: task must be one of {TASK_TYPES}")
        if self.task == "classification" and not self.verbalizers:
            raise ValueError(f"dataset {self.name!r}: classification needs verbalizers")
