"""Libraries imported only when first used.

peft imports bitsandbytes whenever it is installed, for every method (its 4-bit and 8-bit
layers), and importing bitsandbytes costs about 3 s (its CPU kernels, torch's compiler) in every
process that imports peft. Installed when ``peftctl`` is imported, a finder hands out such a
library as a lazy module: it is executed on its first attribute access (QLoRA's layers), and
never in a run that does not use it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

#: top-level packages executed on first use
DEFERRED = frozenset({"bitsandbytes"})


class _LazyFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name not in DEFERRED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def defer_heavy_imports() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent; a library already imported
    stays as it is)."""
    if not any(isinstance(finder, _LazyFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LazyFinder())
