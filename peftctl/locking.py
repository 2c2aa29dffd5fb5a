"""Folder locks: one writer per run or bench directory, the holder named to the next one."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from peftctl.errors import PeftctlError

LOCK_FILE = ".lock"


@contextlib.contextmanager
def exclusive(folder: Path, what: str, advice: str) -> Iterator[None]:
    """Hold ``folder/.lock`` while ``what`` writes there; a second holder is refused in one line
    naming the first (``advice`` says what to do instead). The lock file goes on release."""
    import fcntl

    path = folder / LOCK_FILE
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise PeftctlError(f"{folder} is in use by {what} ({holder}); {advice}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)
