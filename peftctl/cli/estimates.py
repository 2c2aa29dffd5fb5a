"""Trainable-parameter estimates for ``list-methods``, kept between runs in the cache dir.

An estimate imports the method's light config module (whose dataclasses are compiled on
import): ~15 % of the command's start for ~20 methods. The estimates are kept with what
they were computed from: every method's spec, where each config's top-level package (and
peftctl) was found, and the size and mtime of every imported file of those packages. An edit,
an install, an upgrade or another checkout on ``sys.path`` changes one of these, and the
estimates are computed again. A file changed less than :data:`RACY_S` before writing is not
trusted to show a later edit (same mtime), so such a result is not kept.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from peftctl.specs import MethodSpec, load_object

FORMAT = 1
RACY_S = 2.0


def trainable_estimates(specs: Sequence[MethodSpec]) -> dict[str, int | None]:
    """``{method name: trainable parameters on the default model}`` (None: no estimate)."""
    key = _key(specs)
    path = cache_file()
    cached = _read(path, key)
    if cached is not None:
        return cached
    estimates = {spec.name: default_trainable_estimate(spec) for spec in specs}
    _write(path, key, estimates)
    return estimates


def default_trainable_estimate(spec: MethodSpec) -> int | None:
    """What ``spec`` trains on the default model with its default options, from its light
    config module (never its implementation); None when the method gives no estimate."""
    from peftctl.facts.arch import DEFAULT_ARCH

    if spec.config is None:
        return None
    try:
        return load_object(spec.config)(name=spec.name).trainable_estimate(DEFAULT_ARCH)
    except Exception:  # a plugin's broken estimate must not break the listing
        return None


def cache_file() -> Path:
    from peftctl.models.cache import cache_root

    return cache_root() / "listing" / "trainable-estimates.json"


def _key(specs: Sequence[MethodSpec]) -> dict[str, Any]:
    tops = {"peftctl"} | {spec.config.partition(".")[0] for spec in specs if spec.config}
    return {
        "format": FORMAT,
        "specs": [[s.name, s.config, s.package, s.version] for s in specs],
        "roots": {top: _location(top) for top in sorted(tops)},
    }


def _location(top: str) -> list[str]:
    """Where the top-level module ``top`` is (or would be) imported from."""
    module = sys.modules.get(top)
    if module is not None:
        paths, file = getattr(module, "__path__", None), getattr(module, "__file__", None)
    else:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return []
        if spec is None:
            return []
        paths, file = spec.submodule_search_locations, spec.origin
    return [str(p) for p in paths] if paths else [str(file)]


def _files(roots: dict[str, list[str]]) -> dict[str, list[int]]:
    """``{path: [size, mtime_ns]}`` of every imported module file under ``roots``."""
    locations = [location for locations in roots.values() for location in locations]
    folders = tuple(os.path.join(loc, "") for loc in locations if os.path.isdir(loc))
    modules = set(locations) - set(folders)
    files = {}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and (file.startswith(folders) or file in modules):
            files[file] = _stat(file)
    return files


def _stat(path: str) -> list[int]:
    try:
        st = os.stat(path)
    except OSError:
        return []
    return [st.st_size, st.st_mtime_ns]


def _read(path: Path, key: dict[str, Any]) -> dict[str, int | None] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["key"] != key:
            return None
        if any(_stat(file) != stat for file, stat in record["files"].items()):
            return None
        return dict(record["estimates"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write(path: Path, key: dict[str, Any], estimates: dict[str, int | None]) -> None:
    files = _files(key["roots"])
    newest = max((stat[1] for stat in files.values() if stat), default=0)
    if not files or time.time_ns() - newest < RACY_S * 1e9:
        return
    from peftctl.atomic import write_json_atomic

    with contextlib.suppress(OSError):  # a read-only cache dir: compute them next time too
        write_json_atomic(path, {"key": key, "files": files, "estimates": estimates})
