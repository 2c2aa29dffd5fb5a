"""Reading the YAML files users write (recipes, bench specs, dataset definitions): one-line
errors that name the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from peftctl.errors import PeftctlError


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in YAML file ``path``; syntax errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PeftctlError(f"cannot read recipe {path}: {error.strerror}") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise PeftctlError(f"{where}: {problem}; fix the YAML syntax") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PeftctlError(
            f"recipe {path} must be a mapping of sections, not a {type(data).__name__}"
        )
    return data
