"""Damaged files on the way in: a truncated adapter or checkpoint is named in one line."""

from __future__ import annotations

import contextlib
import json
import pickle
from collections.abc import Iterator
from pathlib import Path

from peftctl.errors import PeftctlError

# what torch, safetensors and json raise on a truncated or overwritten file
_TORCH_READ_FAILED = ("PytorchStreamReader failed", "failed finding central directory")


@contextlib.contextmanager
def damaged_files(folder: Path, advice: str) -> Iterator[None]:
    """Turn a failure to read ``folder``'s files into ``<file> is damaged (...); <advice>``."""
    try:
        yield
    except PeftctlError:
        raise
    except Exception as error:
        if not _is_damage(error):
            raise
        culprit = first_damaged(folder) or folder
        reason = str(error).strip().splitlines()[0][:120] if str(error).strip() else ""
        detail = f"{type(error).__name__}: {reason}" if reason else type(error).__name__
        raise PeftctlError(f"{culprit} is damaged or truncated ({detail}); {advice}") from None


def first_damaged(folder: Path) -> Path | None:
    """The first ``.safetensors`` or ``.json`` file in ``folder`` that does not parse."""
    for path in sorted(folder.glob("*.safetensors")):
        if not _safetensors_ok(path):
            return path
    for path in sorted(folder.glob("*.json")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            return path
    return None


def _safetensors_ok(path: Path) -> bool:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "np") as handle:
            handle.keys()
    except (SafetensorError, OSError, ValueError):
        return False
    return True


def _is_damage(error: Exception) -> bool:
    from safetensors import SafetensorError

    damaged = (SafetensorError, UnicodeDecodeError, EOFError, pickle.UnpicklingError)
    if isinstance(error, (*damaged, json.JSONDecodeError)):
        return True
    return isinstance(error, RuntimeError) and any(s in str(error) for s in _TORCH_READ_FAILED)
