"""A user's own dataset, described in the recipe (``dataset.path`` + template + target)."""

from __future__ import annotations

from pathlib import Path

from peftctl.datasets import sources
from peftctl.datasets.config import DatasetConfig
from peftctl.datasets.formatting import _key
from peftctl.errors import PeftctlError
from peftctl.specs import DatasetSpec

FILE_SPLITS = {"train": "train", "eval": "eval"}
HUB_SPLITS = {"train": "train", "eval": "validation", "test": "test"}
_LABEL_KIND = {"classification": "map", "regression": "number", "generation": "text"}


def user_spec(cfg: DatasetConfig) -> DatasetSpec:
    """A :class:`DatasetSpec` for ``cfg``'s own data, rendered by the shared formatter."""
    from peftctl.datasets.loading import TASK_METRICS

    task = cfg.resolved_task or "generation"
    label_map = {_key(k): str(v) for k, v in cfg.verbalizer.items()}
    on_hub = not sources.looks_like_file(str(cfg.path))
    splits = dict(HUB_SPLITS if on_hub else FILE_SPLITS)
    if not on_hub and cfg.eval_path is None and cfg.split_from == "train":
        splits["eval"] = "train"  # the held-out part of the carved file
    return DatasetSpec(
        name=str(cfg.name),
        summary=f"your data from {cfg.path}",
        impl="peftctl.datasets.formatting:format_row",
        task=task,
        metrics=tuple(cfg.metrics) or TASK_METRICS[task],
        hub_id=str(cfg.path) if on_hub else None,
        hub_config=cfg.hub_config,
        instruction=cfg.instruction or "",
        verbalizers=tuple(dict.fromkeys(label_map.values())),
        splits=splits,
        options={
            "template": cfg.template,
            "label": cfg.target,
            "label_kind": _LABEL_KIND[task],
            "label_map": label_map,
        },
    )


def user_rows(cfg: DatasetConfig, real: str) -> tuple[list[dict], str]:
    """Rows of the user's split ``real`` and their source (file path or ``hub:id``)."""
    path = str(cfg.path)
    if not sources.looks_like_file(path):
        try:
            return sources.hub_rows(path, cfg.hub_config, real), f"hub:{path}"
        except Exception as error:
            raise PeftctlError(
                f"dataset.path={path}: no such file, and loading it from the hub failed "
                f"({type(error).__name__}: {str(error).strip()[:160]})"
            ) from error
    file = Path(path) if real == "train" else Path(str(cfg.eval_path))
    if real not in ("train", "eval") or (real == "eval" and cfg.eval_path is None):
        raise PeftctlError(
            f"dataset.path={path}: no {real} split; set dataset.eval_path, or "
            "dataset.split_from=train to hold out part of the file"
        )
    return sources.read_rows(file.expanduser()), str(file)
