"""Atomic file writes (temp file + rename): a killed run never leaves half a file."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from peftctl.errors import PeftctlError

# a full or read-only disk; torch.save reports a failed write as a RuntimeError
_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
_TORCH_WRITE_FAILED = "file write failed"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    _write_atomic(path, text, "w", "utf-8")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    _write_atomic(path, data, "wb", None)


def temp_file_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in ``path``'s folder (its descriptor and name), to be renamed onto
    ``path``; its mode is what a plain ``open`` would give (``mkstemp`` makes it 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    return fd, tmp


def _write_atomic(path: Path, data: str | bytes, mode: str, encoding: str | None) -> None:
    fd, tmp = temp_file_beside(path)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_jsonl_atomic(path: Path, records: Iterable[dict[str, Any]]) -> None:
    lines = (json.dumps(record, ensure_ascii=False) for record in records)
    write_text_atomic(path, "".join(f"{line}\n" for line in lines))


@contextlib.contextmanager
def disk_errors(what: str, advice: str) -> Iterator[None]:
    """Turn a full or read-only disk while writing ``what`` into one line plus ``advice``."""
    try:
        yield
    except OSError as error:
        if error.errno not in _DISK_ERRNOS:
            raise
        raise PeftctlError(f"cannot write {what}: {os.strerror(error.errno)}; {advice}") from None
    except RuntimeError as error:
        if _TORCH_WRITE_FAILED not in str(error):
            raise
        raise PeftctlError(f"cannot write {what}: the disk is full or failing; {advice}") from None
