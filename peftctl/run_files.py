"""A run directory's layout and its run card: what ``peftctl train`` writes and ``eval``,
``export``, ``merge``, ``bench`` and the UI read. Torch-free.

``<output_dir>/``: ``recipe.yaml`` (the resolved recipe, written first), ``checkpoints/``
(while training), ``adapter/`` (the trained adapter, a method's ``save``), ``run.json`` (the
run card, written last: a run with a card and an adapter finished). An evaluation's output
folder holds ``metrics.json`` and ``predictions.jsonl``.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

RECIPE = "recipe.yaml"
RUN_CARD = "run.json"
ADAPTER = "adapter"
CHECKPOINTS = "checkpoints"
METRICS = "metrics.json"
PREDICTIONS = "predictions.jsonl"


def is_run(path: Path) -> bool:
    """Whether ``path`` is a run directory (it holds a resolved recipe)."""
    return (path / RECIPE).is_file()


def is_finished(path: Path) -> bool:
    """Whether the run at ``path`` trained to the end (its card and adapter are written)."""
    return (path / RUN_CARD).is_file() and (path / ADAPTER).is_dir()


def read_card(path: Path) -> dict[str, Any] | None:
    """The run card of the run at ``path``; None when it has none or it does not parse."""
    try:
        card = json.loads((path / RUN_CARD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def versions(*packages: str) -> dict[str, str]:
    """Installed versions of python and ``packages`` (``""`` when not installed)."""
    found = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = ""
    return found


def command_line() -> str:
    """How this process was started, for the run card."""
    return " ".join(["peftctl", *sys.argv[1:]])
