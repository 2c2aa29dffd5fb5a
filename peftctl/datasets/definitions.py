"""Your own datasets defined in YAML: a ``dataset:`` section kept in a file of its own.

A definition file holds the keys of a recipe's ``dataset`` section (``path``, ``template``,
``target``, ``verbalizer``, ...), or is a whole recipe whose ``dataset`` section is used.
Relative ``path``/``eval_path`` values resolve against the folder of the file naming them.
Files in the folders on ``$PEFTCTL_DATASETS_PATH`` register under their ``name`` (default:
the file's stem), so recipes, ``peftctl eval --dataset`` and ``list-datasets`` know them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from peftctl.errors import PeftctlError, warn_once
from peftctl.specs import DatasetSpec

DATASETS_PATH_ENV = "PEFTCTL_DATASETS_PATH"
YAML_SUFFIXES = (".yaml", ".yml")
PATH_KEYS = ("path", "eval_path")


def is_definition_file(value: object) -> bool:
    """Whether ``value`` names an existing YAML file (rather than a dataset name)."""
    return isinstance(value, str) and value.endswith(YAML_SUFFIXES) and Path(value).is_file()


def read_definition(file: Path) -> dict[str, Any]:
    """The dataset section in ``file`` (a definition or a recipe), paths anchored to it."""
    from peftctl.yaml_files import read_yaml

    data = read_yaml(file)
    is_recipe = "dataset" in data
    section = data["dataset"] if is_recipe else data
    if not isinstance(section, Mapping) or not section:
        raise PeftctlError(f"{file}: expected dataset keys (path, template, target, ...)")
    if not is_recipe:  # a definition file is named after itself unless it says otherwise
        section = {"name": _default_name(file), **section}
    return anchor_paths(section, file.parent)


def anchor_paths(section: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    """``section`` with relative file paths made relative to ``folder`` (hub ids untouched)."""
    from peftctl.datasets.sources import FILE_SUFFIXES

    anchored = dict(section)
    for key in PATH_KEYS:
        value = anchored.get(key)
        if isinstance(value, str) and value.lower().endswith(FILE_SUFFIXES):
            path = Path(value).expanduser()
            anchored[key] = str(path if path.is_absolute() else folder / path)
    return anchored


def definition_specs() -> list[DatasetSpec]:
    """Dataset records of the definitions on ``$PEFTCTL_DATASETS_PATH``; a broken file is a
    warning (it must not hide the others or the built-ins)."""
    from peftctl import typed
    from peftctl.datasets.catalog import BUILTIN_DATASETS
    from peftctl.datasets.config import DatasetConfig
    from peftctl.datasets.user import user_spec

    builtin = {spec.name for spec in BUILTIN_DATASETS}
    specs = []
    for name, (file, section) in definitions().items():
        try:
            if isinstance(section, PeftctlError):
                raise section
            if name in builtin:
                raise PeftctlError(f"'{name}' is a built-in dataset; give the file another name")
            config = typed.build(DatasetConfig, section, "dataset")
        except PeftctlError as error:
            warn_once(f"dataset definition {file} skipped: {error}")
            continue
        spec = user_spec(config)
        specs.append(dataclasses.replace(spec, summary=f"{spec.summary} (defined in {file})"))
    return specs


def definitions() -> dict[str, tuple[Path, dict[str, Any] | PeftctlError]]:
    """Registered name -> (file, its dataset section or why it cannot be read), for every
    definition on ``$PEFTCTL_DATASETS_PATH``; each file is read once."""
    found: dict[str, tuple[Path, dict[str, Any] | PeftctlError]] = {}
    for entry in filter(None, os.environ.get(DATASETS_PATH_ENV, "").split(os.pathsep)):
        folder = Path(entry).expanduser()
        files = [folder] if folder.is_file() else sorted(folder.glob("*.y*ml"))
        for file in (f for f in files if f.suffix in YAML_SUFFIXES):
            try:
                section: dict[str, Any] | PeftctlError = read_definition(file)
                name = str(section["name"])
            except PeftctlError as error:  # registering it reports the problem
                section, name = error, _default_name(file)
            found.setdefault(name, (file, section))
    return found


def expand_section(section: Mapping[str, Any]) -> dict[str, Any]:
    """A recipe's dataset section with its definition filled in: ``name`` may be a YAML file
    or a registered definition; the section's own keys win over the definition's."""
    name = section.get("name")
    if section.get("path") is not None or not isinstance(name, str):
        return dict(section)
    if is_definition_file(name):
        defined: dict[str, Any] | PeftctlError = read_definition(Path(name))
    elif name.endswith(YAML_SUFFIXES):
        raise PeftctlError(f"{name}: no such file (a dataset definition or recipe)")
    elif name in (found := definitions()):
        defined = found[name][1]
    else:
        return dict(section)
    if isinstance(defined, PeftctlError):
        raise defined
    rest = {key: value for key, value in section.items() if key != "name"}
    return {**defined, **rest}


def _default_name(file: Path) -> str:
    return file.stem.lower().replace("-", "_")
