"""Where rows come from: the local data folder, user files (JSONL/CSV/parquet), the hub."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from peftctl.errors import PeftctlError

DATA_DIR_ENV = "PEFTCTL_DATA_DIR"
FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")

Row = dict[str, Any]


def data_dir(configured: str | None) -> Path | None:
    """The local data folder: ``dataset.data_dir``, else ``$PEFTCTL_DATA_DIR``, else None."""
    folder = configured or os.environ.get(DATA_DIR_ENV)
    return Path(folder).expanduser() if folder else None


def local_split_file(root: Path | None, folder: str, split: str) -> Path:
    """``<root>/<folder>/<split>.jsonl`` (the path is returned even when it does not exist)."""
    base = root if root is not None else Path(f"${DATA_DIR_ENV}")
    return base / folder / f"{split}.jsonl"


def read_rows(path: Path) -> list[Row]:
    """All rows of a .jsonl/.json/.csv/.parquet file; a bad file is a one-line error."""
    if not path.is_file():
        raise PeftctlError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise PeftctlError(f"{path}: unsupported file type; use {', '.join(FILE_SUFFIXES)}")
    rows = _READERS[suffix](path)
    if not rows:
        raise PeftctlError(f"{path}: the file has no rows")
    return rows


def hub_rows(hub_id: str, config: str | None, split: str) -> list[Row]:
    """Rows of ``split`` of hub dataset ``hub_id`` via ``datasets.load_dataset`` (may raise)."""
    _check_hub_reachable()
    import datasets

    return list(datasets.load_dataset(hub_id, config, split=split))


def _check_hub_reachable(timeout: float = 3.0) -> None:
    """Fail in seconds, not after a minute of retries, when the hub cannot be reached."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise ConnectionError("HF_HUB_OFFLINE is set")
    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
    except OSError as error:
        raise ConnectionError(f"cannot reach {url.hostname}: {error}") from None


def looks_like_file(path: str) -> bool:
    return Path(path).suffix.lower() in FILE_SUFFIXES or Path(path).exists()


def _jsonl(path: Path) -> list[Row]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise PeftctlError(
                    f"{path}: row {number} is not valid JSON ({error.msg})"
                ) from None
            if not isinstance(row, dict):
                raise PeftctlError(f"{path}: row {number} is not a JSON object")
            rows.append(row)
    return rows


def _json(path: Path) -> list[Row]:
    if path.read_text(encoding="utf-8").lstrip().startswith("{"):
        return _jsonl(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise PeftctlError(f"{path}: expected a JSON array of objects (or JSON Lines)")
    return data


def _csv(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _parquet(path: Path) -> list[Row]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


_READERS = {".jsonl": _jsonl, ".json": _json, ".csv": _csv, ".parquet": _parquet}


def local_splits(root: Path | None, folder: str, splits: dict[str, str]) -> list[str]:
    """The logical splits (train/eval/test) whose file is in the local data folder."""
    if root is None:
        return []
    return [name for name, real in splits.items() if local_split_file(root, folder, real).is_file()]
