"""The output directory: who may write into it, and the run card (``run.json``)."""

from __future__ import annotations

import math
import platform
import shutil
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from peftctl.errors import PeftctlError


def check_output_dir(path: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse to mix results: a non-empty ``path`` needs ``--resume`` or ``--overwrite``."""
    if resume and overwrite:
        raise PeftctlError("--resume and --overwrite exclude each other; pass one")
    if path.exists() and not path.is_dir():
        raise PeftctlError(f"output_dir '{path}' is a file; set output_dir to a directory")
    if path.is_dir() and any(path.iterdir()) and not (resume or overwrite):
        raise PeftctlError(
            f"output_dir '{path}' already holds results; pass --resume to continue the run, "
            "--overwrite to replace it, or set output_dir=<new dir>"
        )


def clear_output_dir(path: Path) -> None:
    """Delete a previous run's results (``--overwrite``)."""
    if path.is_dir():
        shutil.rmtree(path)


def versions(*packages: str) -> dict[str, str]:
    """Installed versions of python and ``packages`` (``""`` when not installed)."""
    found = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = ""
    return found


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


def command_line() -> str:
    """How this process was started, for the run card."""
    return " ".join(["peftctl", *sys.argv[1:]])
