"""The on-disk cache of converted models: where it lives, cache keys, atomic directory builds."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from peftctl.errors import PeftctlError
from peftctl.processes import process_alive

CACHE_ENV = "PEFTCTL_CACHE_DIR"
_SAMPLE_BYTES = 1 << 20


def cache_root() -> Path:
    """The cache directory: ``$PEFTCTL_CACHE_DIR``, else ``~/.cache/peftctl``."""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/peftctl").expanduser()


def file_fingerprint(path: Path) -> str:
    """A cheap identity of a large file: its size and a hash of its first and last MiB."""
    import hashlib  # not at import: listing commands read cache_root() only

    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(_SAMPLE_BYTES))
        handle.seek(max(0, size - _SAMPLE_BYTES))
        digest.update(handle.read(_SAMPLE_BYTES))
    return digest.hexdigest()


def cache_key(*parts: str) -> str:
    """A short stable key for a cache entry built from ``parts``."""
    import hashlib

    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """Return ``target``, first creating it with ``build(tmp_dir)`` when it does not exist.

    ``build`` writes into a private temporary directory that is renamed to ``target`` only
    once complete, so an interrupted build never leaves a half-written entry behind.
    Concurrent processes wait for each other instead of building twice.
    """
    if target.is_dir():
        return target
    _make_dir(target.parent)
    with _exclusive(target.parent / f".{target.name}.lock"):
        if target.is_dir():  # another process built it while we waited
            return target
        _remove_abandoned_builds(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", dir=target.parent))
        try:
            build(tmp)
            _publish(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _publish(tmp: Path, target: Path) -> None:
    try:
        tmp.rename(target)
    except OSError:
        if not target.is_dir():  # else an unlocked concurrent build finished first: use it
            raise


def _make_dir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PeftctlError(
            f"cannot create the model cache {folder} ({error.strerror}); "
            f"set {CACHE_ENV} to a writable directory"
        ) from error


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (no-op where ``fcntl`` is unavailable)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_abandoned_builds(target: Path) -> None:
    """Delete temporary build directories of ``target`` whose process no longer runs."""
    for leftover in target.parent.glob(f".{target.name}.*.*"):
        pid = leftover.name.removeprefix(f".{target.name}.").split(".")[0]
        if leftover.is_dir() and pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)
