"""Resumable checkpoints: ``checkpoints/step-NNNNNNNN/`` written through a temp dir + rename.

Each holds accelerate's state (optimizer, scheduler, RNG of every process) plus only the
method's trainable parameters and ``trainer_state.json`` (step, best eval, log so far).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from peftctl.atomic import write_json_atomic

STEP_DIR = re.compile(r"^step-(\d+)$")
STATE_FILE = "trainer_state.json"
TRAINABLE_FILE = "trainable.safetensors"


def step_dir(root: Path, step: int) -> Path:
    return root / f"step-{step:08d}"


def list_checkpoints(root: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints under ``root`` as ``(step, path)``, oldest first."""
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        match = STEP_DIR.match(path.name)
        if match and (path / STATE_FILE).is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest_checkpoint(root: Path) -> Path | None:
    checkpoints = list_checkpoints(root)
    return checkpoints[-1][1] if checkpoints else None


def prune(root: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints, and leftovers of interrupted saves."""
    for _, path in list_checkpoints(root)[:-keep]:
        shutil.rmtree(path, ignore_errors=True)
    for leftover in root.glob(".step-*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)


def save_trainable(state: dict[str, Any], folder: Path) -> None:
    """Write trainable tensors (contiguous copies, safetensors) into ``folder``."""
    tensors = {name: t.detach().contiguous().cpu().clone() for name, t in state.items()}
    save_file(tensors, str(folder / TRAINABLE_FILE))


def load_trainable(folder: Path) -> dict[str, Any]:
    return load_file(str(folder / TRAINABLE_FILE))


def write_state(folder: Path, state: dict[str, Any]) -> None:
    write_json_atomic(folder / STATE_FILE, state)


def read_state(folder: Path) -> dict[str, Any]:
    return json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
