"""Registers the core's built-in datasets (through the ``peftctl`` entry-point group)."""

from __future__ import annotations

from peftctl import hookimpl
from peftctl.datasets.catalog import BUILTIN_DATASETS
from peftctl.specs import DatasetSpec


@hookimpl
def peftctl_register_datasets() -> list[DatasetSpec]:
    return list(BUILTIN_DATASETS)
