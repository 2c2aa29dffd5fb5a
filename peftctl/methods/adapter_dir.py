"""An ``adapter/`` directory of a method that saves its own tensors (not through peft):
``<weights_file>`` (safetensors) and ``adapter_config.json`` (``{"method": name, ...}``).

Writing is atomic (a killed process leaves the old directory or the new one); reading checks
that the directory holds both files and an adapter of the expected method.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peftctl.errors import PeftctlError

if TYPE_CHECKING:
    import torch

CONFIG_FILE = "adapter_config.json"


def save_adapter_dir(
    adapter_dir: Path,
    *,
    method: str,
    weights_file: str,
    weights: dict[str, torch.Tensor],
    **meta: Any,
) -> None:
    """Write ``weights`` and ``{"method": method, **meta}`` (JSON-able) to ``adapter_dir``."""
    from safetensors.torch import save_file

    from peftctl.methods.base import write_dir_atomically

    state = {name: tensor.detach().cpu().contiguous() for name, tensor in weights.items()}
    config = json.dumps({"method": method, **meta}, indent=2) + "\n"

    def write(tmp: Path) -> None:
        save_file(state, str(tmp / weights_file), metadata={"format": "pt"})
        (tmp / CONFIG_FILE).write_text(config, encoding="utf-8")

    write_dir_atomically(Path(adapter_dir), write)


def load_adapter_dir(
    adapter_dir: Path, *, method: str, weights_file: str
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(meta, weights)`` saved by :func:`save_adapter_dir` for ``method``."""
    from safetensors.torch import load_file

    adapter_dir = Path(adapter_dir)
    meta_path, path = adapter_dir / CONFIG_FILE, adapter_dir / weights_file
    if not (meta_path.is_file() and path.is_file()):
        raise PeftctlError(
            f"{adapter_dir} lacks {CONFIG_FILE} or {weights_file}; is it a '{method}' adapter?"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("method") != method:
        raise PeftctlError(
            f"{adapter_dir} holds a '{meta.get('method')}' adapter, not a '{method}' one"
        )
    return meta, load_file(str(path))
