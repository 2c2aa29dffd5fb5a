"""Finding recipes by registered name (``<method>_<dataset>``) or by path."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from peftctl.errors import PeftctlError, unknown_name
from peftctl.plugin_manager import plugin_recipe_dir  # noqa: F401  (0.2 plugins import it here)

SUFFIXES = (".yaml", ".yml")


class Recipe(NamedTuple):
    """An installed recipe: its file and the package that ships it."""

    path: Path
    package: str


def installed_recipes() -> dict[str, Recipe]:
    """``{name: recipe}`` of every recipe in the plugins' recipe directories (first one wins)."""
    from peftctl.plugin_manager import get_plugins

    recipes: dict[str, Recipe] = {}
    for folder, plugin in get_plugins().recipe_sources():
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in SUFFIXES and path.is_file():
                recipes.setdefault(path.stem, Recipe(path, plugin.package))
    return recipes


def recipe_index() -> dict[str, Path]:
    """``{name: path}`` of every installed recipe."""
    return {name: recipe.path for name, recipe in installed_recipes().items()}


def find_recipe(name_or_path: str) -> Path:
    """The recipe file for a registered name or an existing path."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        raise PeftctlError(f"recipe '{name_or_path}' is a directory; pass a YAML file or a name")
    index = recipe_index()
    name = path.stem if path.suffix in SUFFIXES else name_or_path
    if name in index:
        return index[name]
    if path.suffix in SUFFIXES or "/" in name_or_path:
        raise PeftctlError(f"recipe file '{name_or_path}' does not exist; check the path")
    raise _missing_package(name) or unknown_name(
        "recipe", name_or_path, index, "see `peftctl recipes list`"
    )


def _missing_package(name: str) -> PeftctlError | None:
    """A recipe ``<method>_<dataset>`` of a known method whose package is not installed."""
    from peftctl.plugin_manager import get_plugins
    from peftctl.standard_packages import not_installed, recipe_method

    missing = get_plugins().missing_methods
    method = recipe_method(name, missing)
    return None if method is None else PeftctlError(not_installed("recipe", name, missing[method]))


def first_comment_command(path: Path) -> str:
    """The command a recipe's opening comment shows (``# peftctl train ...``), or ``""``."""
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text.startswith("#"):
            break
        command = text.lstrip("#").strip()
        if command.startswith(("peftctl ", "accelerate ", "torchrun ")):
            return command
    return ""
