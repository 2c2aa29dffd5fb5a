"""Tests of the staged datasets (``PEFTCTL_DATA_DIR``, ``../shared/data`` beside a checkout)
skip, saying what is missing, on a clone without them; CI has them and runs every one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def needs_staged(*datasets: str) -> pytest.MarkDecorator:
    """Skip unless each dataset's folder is staged under ``PEFTCTL_DATA_DIR``."""
    root = Path(os.environ["PEFTCTL_DATA_DIR"])
    missing = [name for name in datasets if not (root / name).is_dir()]
    reason = f"staged data absent: {', '.join(f'{root}/{m}' for m in missing)}"
    return pytest.mark.skipif(bool(missing), reason=reason)
