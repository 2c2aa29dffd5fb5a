"""``peftctl new-method NAME``: a ready plugin package from the template in ``template/``.

The template is a working plugin named ``mymethod`` (package ``peftctl-mymethod``, module
``peftctl_mymethod``, classes ``MyMethod*``); scaffolding copies it with those names replaced.
It is linted with the rest of the code, under its own ``pyproject.toml``'s ruff settings.
With ``--peft-config``, :mod:`peftctl.scaffold.peft_backed` replaces the method by one that
wraps that peft tuner.
"""

from __future__ import annotations

import re
from pathlib import Path

from peftctl.errors import PeftctlError
from peftctl.specs import NAME_PATTERN

TEMPLATE = Path(__file__).resolve().parent / "template"
PLACEHOLDER = "mymethod"
SKIP = ("__pycache__", ".pyc", ".ruff_cache", ".pytest_cache")
TEMPLATE_VERSION = "0.1.0"
VERSION_PATTERN = re.compile(r"^\d+(\.\d+){1,2}([a-z]+\d+)?$")


def check_name(name: str) -> None:
    """Raise :class:`PeftctlError` unless ``name`` can be a new method's registered name."""
    from peftctl.plugin_manager import get_plugins

    if not NAME_PATTERN.match(name) or name.endswith("_"):
        raise PeftctlError(
            f"method name '{name}' must be lowercase letters, digits and underscores, start with "
            "a letter and not end with '_' (e.g. my_method)"
        )
    methods = get_plugins().methods
    if name in methods.names():
        owner = methods.get(name).owner
        raise PeftctlError(f"method '{name}' already exists ({owner}); choose another name")


def replacements(name: str) -> list[tuple[str, str]]:
    """Template text -> the new package's, most specific first."""
    dist = name.replace("_", "-")
    camel = "".join(part.capitalize() for part in name.split("_"))
    return [
        (f"peftctl-{PLACEHOLDER}", f"peftctl-{dist}"),
        (f"\n{PLACEHOLDER} = ", f"\n{dist} = "),  # the entry point's name
        ("MyMethod", camel),
        (PLACEHOLDER, name),
    ]


def render(text: str, name: str) -> str:
    """``text`` with the placeholders replaced in one pass (a name may contain one)."""
    table = dict(replacements(name))
    pattern = "|".join(re.escape(old) for old in table)
    return re.sub(pattern, lambda match: table[match.group(0)], text)


def default_dir(name: str) -> Path:
    return Path(f"peftctl-{name.replace('_', '-')}")


def new_method(
    name: str,
    target: Path | None = None,
    peft_config: str | None = None,
    version: str | None = None,
) -> Path:
    """Write the plugin package for method ``name`` to ``target`` (default ``./peftctl-NAME``);
    returns the directory. Refuses a target that exists and is not empty. ``peft_config``
    (a peft config class name, e.g. ``LoHaConfig``) makes it a peft-backed method; ``version``
    is the package's (default the template's 0.1.0; this repository's optional packages use
    their own series, e.g. 0.2.0)."""
    from peftctl.methods.base import write_dir_atomically

    check_name(name)
    if version is not None and not VERSION_PATTERN.match(version):
        raise PeftctlError(f"--version {version!r} is not a version such as 0.2.0")
    target = Path(target) if target is not None else default_dir(name)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise PeftctlError(f"{target} already exists and is not empty; pass another --dir")
    texts = template_texts(peft_config)
    if version is not None:
        texts["pyproject.toml"] = texts["pyproject.toml"].replace(
            f'version = "{TEMPLATE_VERSION}"', f'version = "{version}"', 1
        )

    def write(folder: Path) -> None:
        for relative, text in texts.items():
            path = folder / render(relative, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(text, name), encoding="utf-8")

    write_dir_atomically(target, write)
    return target


def template_texts(peft_config: str | None) -> dict[str, str]:
    """``{relative path: text}`` of the package before names are filled in."""
    texts = {
        str(source.relative_to(TEMPLATE)): source.read_text(encoding="utf-8")
        for source in sorted(TEMPLATE.rglob("*"))
        if source.is_file()
        and not any(p.endswith(SKIP) for p in source.relative_to(TEMPLATE).parts)
    }
    if peft_config is None:
        return texts
    from peftctl.scaffold import peft_backed

    tuner = peft_backed.inspect_tuner(peft_config)
    for relative, changes in peft_backed.edits(tuner).items():
        for old, new in changes:
            if old not in texts[relative]:  # the template changed under the edit: a bug
                raise RuntimeError(f"scaffold edit no longer applies to {relative}: {old[:60]!r}")
            texts[relative] = texts[relative].replace(old, new)
    return {**texts, **peft_backed.overrides(tuner)}
