"""Registers the core's built-in datasets (through the ``peftctl`` entry-point group), and
the user's dataset definitions found on ``$PEFTCTL_DATASETS_PATH``."""

from __future__ import annotations

from peftctl import hookimpl
from peftctl.datasets.catalog import BUILTIN_DATASETS
from peftctl.specs import DatasetSpec


@hookimpl
def peftctl_register_datasets() -> list[DatasetSpec]:
    from peftctl.datasets.definitions import definition_specs

    return [*BUILTIN_DATASETS, *definition_specs()]
