"""Registers the core's built-in datasets (through the ``peftctl`` entry-point group)."""

from __future__ import annotations

from peftctl import hookimpl
from peftctl.specs import DatasetSpec


@hookimpl
def peftctl_register_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="sst2",
            summary="GLUE SST-2 movie-review sentiment",
            impl="peftctl.datasets.formatting:format_row",
            task="classification",
            metrics=("accuracy", "f1"),
            hub_id="nyu-mll/glue",
            hub_config="sst2",
            verbalizers=("negative", "positive"),
            splits={"train": "train", "eval": "validation"},
        ),
    ]
