"""The output directory: who may write into it, what a failed run leaves, parameter counts."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peftctl.errors import PeftctlError
from peftctl.locking import LOCK_FILE, exclusive
from peftctl.run_files import ADAPTER, CHECKPOINTS, RUN_CARD


def check_output_dir(path: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse to mix results: a non-empty ``path`` needs ``--resume`` or ``--overwrite``."""
    if resume and overwrite:
        raise PeftctlError("--resume and --overwrite exclude each other; pass one")
    if path.exists() and not path.is_dir():
        raise PeftctlError(f"output_dir '{path}' is a file; set output_dir to a directory")
    if _results(path) and not (resume or overwrite):
        raise PeftctlError(
            f"output_dir '{path}' already holds results; pass --resume to continue the run, "
            "--overwrite to replace it, or set output_dir=<new dir>"
        )


def clear_output_dir(path: Path) -> None:
    """Delete a previous run's results (``--overwrite``), keeping the run's lock."""
    for entry in _results(path):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@dataclass
class Claim:
    """This run's hold on its output directory; ``started`` once it has written there."""

    path: Path
    started: bool = False


@contextlib.contextmanager
def claim_output_dir(path: Path, *, main: bool, resume: bool) -> Iterator[Claim]:
    """Create and lock ``path`` for one run (main process). A run that fails before it
    starts writing leaves the folder as it was (old results too); one that fails later
    removes what it wrote unless a checkpoint is worth keeping, and says so in its error
    (a resumed run keeps everything: its user knows how to go on)."""
    claim = Claim(path)
    if not main:
        yield claim
        return
    created = _missing_folders(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        (path / LOCK_FILE).touch()
    except OSError as error:
        raise PeftctlError(
            f"output_dir '{path}': cannot write there ({error.strerror}); "
            "set output_dir to a directory you can write"
        ) from None
    try:
        with exclusive(path, "`peftctl train`", "wait for it to end or set output_dir=<new dir>"):
            try:
                yield claim
            except BaseException as error:
                kept = _after_failure(path) if claim.started and not resume else ""
                if kept and isinstance(error, PeftctlError):
                    raise type(error)(f"{error}; {kept}") from error
                if kept:
                    print(f"note: {kept}", file=sys.stderr)
                raise
    finally:
        for folder in created:  # deepest first; a failed first run leaves no empty runs/
            if not folder.is_dir() or any(folder.iterdir()):
                break
            folder.rmdir()


def _missing_folders(path: Path) -> list[Path]:
    """``path`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    return missing


def _after_failure(path: Path) -> str:
    """Clean up after a failed run; what was kept, in words ("" when nothing was)."""
    from peftctl.training.checkpoint import list_checkpoints

    if (path / RUN_CARD).is_file():
        return f"training finished: {path}/{ADAPTER} and {RUN_CARD} are kept (peftctl eval {path})"
    steps = list_checkpoints(path / CHECKPOINTS)
    if steps:
        return (
            f"checkpoints up to step {steps[-1][0]} are kept in {path}; run the same command "
            "with --resume to continue"
        )
    clear_output_dir(path)  # nothing worth keeping: the corrected re-run starts clean
    return ""


def _results(path: Path) -> list[Path]:
    """What ``path`` holds besides a run's lock."""
    if not path.is_dir():
        return []
    return [entry for entry in path.iterdir() if entry.name != LOCK_FILE]


def warn_single_cpu_process(num_processes: int) -> None:
    """`accelerate launch --num_processes N` on CPU without mpirun starts one process: say so."""
    env = os.environ
    asked_for_more = "ACCELERATE_USE_CPU" in env and "MASTER_ADDR" in env
    if asked_for_more and num_processes == 1 and "WORLD_SIZE" not in env:
        print(
            "warning: accelerate launch starts one process on CPU without mpirun; this run uses "
            "1. For several CPU processes: torchrun --nproc_per_node N -m peftctl train ...",
            file=sys.stderr,
        )


def parameter_counts(model: Any) -> dict[str, Any]:
    """Trainable and total parameters of ``model``, quantised weights at their logical shape."""
    total = sum(logical_numel(p) for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "trainable": trainable,
        "total": total,
        "trainable_percent": round(100 * trainable / max(total, 1), 4),
    }


def logical_numel(param: Any) -> int:
    """Elements of the weight ``param`` stands for: a bitsandbytes 4-bit weight packs two
    per byte and keeps its real shape in ``quant_state``."""
    state = getattr(param, "quant_state", None)
    return math.prod(state.shape) if state is not None else param.numel()
