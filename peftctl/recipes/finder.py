"""Finding recipes by registered name (``<method>_<dataset>``) or by path."""

from __future__ import annotations

from pathlib import Path

from peftctl.errors import PeftctlError, unknown_name

SUFFIXES = (".yaml", ".yml")


def plugin_recipe_dir(plugin_file: str) -> Path:
    """A plugin package's ``recipes/``: inside the installed wheel, beside the module
    ``plugin_file``, or beside ``src/`` in a source checkout."""
    package = Path(plugin_file).resolve().parent
    installed = package / "recipes"
    return installed if installed.is_dir() else package.parent.parent / "recipes"


def recipe_index() -> dict[str, Path]:
    """``{name: path}`` of every recipe in the plugins' recipe directories (first one wins)."""
    from peftctl.plugin_manager import get_plugins

    index: dict[str, Path] = {}
    for folder in get_plugins().recipe_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in SUFFIXES and path.is_file():
                index.setdefault(path.stem, path)
    return index


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
    raise unknown_name("recipe", name_or_path, index, "see `peftctl recipes list`")


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
