"""Where rows come from: the local data folder, user files (JSONL/CSV/parquet), the hub."""

from __future__ import annotations

import csv
import io
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


def sample_file(name: str, split: str) -> Path | None:
    """The small copy of ``split`` of dataset ``name`` shipped inside peftctl, if any: the
    last resort when neither a local copy nor the hub serves it (samples/README.md)."""
    path = Path(__file__).parent / "samples" / name / f"{split}.jsonl"
    return path if path.is_file() else None


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


def first_columns(path: Path) -> list[str]:
    """The column names of a data file, read from its first row (or header) only."""
    if not path.is_file():
        raise PeftctlError(f"{path}: no such file; check dataset.path / dataset.eval_path")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    text = head.decode("utf-8", errors="ignore")
    if suffix == ".csv":
        return next(csv.reader(io.StringIO(text)), [])
    if suffix == ".jsonl" or (suffix == ".json" and text.lstrip().startswith("{")):
        first = next((line for line in text.split("\n") if line.strip()), "")
        try:
            row = json.loads(first)
        except json.JSONDecodeError:
            return list(read_rows(path)[0])  # a long first row, or a bad one: named there
        return list(row) if isinstance(row, dict) else []
    return list(read_rows(path)[0])


def hub_rows(hub_id: str, config: str | None, split: str) -> list[Row]:
    """Rows of ``split`` of hub dataset ``hub_id`` via ``datasets.load_dataset`` (may raise)."""
    from peftctl.hub import check_hub_reachable

    check_hub_reachable()
    import datasets

    return list(datasets.load_dataset(hub_id, config, split=split))


def looks_like_file(path: str) -> bool:
    return Path(path).suffix.lower() in FILE_SUFFIXES or Path(path).exists()


def _jsonl(path: Path) -> list[Row]:
    rows = []
    for number, line in enumerate(_text(path).split("\n"), 1):  # JSON may hold \u2028
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise PeftctlError(f"{path}: row {number} is not valid JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise PeftctlError(f"{path}: row {number} is not a JSON object")
        rows.append(row)
    return rows


def _json(path: Path) -> list[Row]:
    text = _text(path)
    if text.lstrip().startswith("{"):
        return _jsonl(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PeftctlError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise PeftctlError(f"{path}: expected a JSON array of objects (or JSON Lines)")
    return data


def _csv(path: Path) -> list[Row]:
    return list(csv.DictReader(io.StringIO(_text(path), newline="")))


def _text(path: Path) -> str:
    """The file as UTF-8 text; other bytes name the line they are on."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise PeftctlError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[error.start]:02x}); save the file "
            "as UTF-8 (a binary file cannot be a dataset)"
        ) from None


def _parquet(path: Path) -> list[Row]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


_READERS = {".jsonl": _jsonl, ".json": _json, ".csv": _csv, ".parquet": _parquet}


def local_splits(root: Path | None, folder: str, splits: dict[str, str]) -> list[str]:
    """The logical splits (train/eval/test) whose file is in the local data folder."""
    if root is None:
        return []
    return [name for name, real in splits.items() if local_split_file(root, folder, real).is_file()]
