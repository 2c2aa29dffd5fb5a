"""docs/plugins.md's smallest plugin works as written: its files, installed into a fresh
venv, register the method and its recipe, and its own tests pass."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from tests.core.test_scaffold import check, venv_python

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
FILE_BLOCK = re.compile(r"^`([^`\s]+)`:\n\n```\w*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def example_files() -> dict[str, str]:
    """``{path: text}`` of the files the section "The smallest plugin package" shows."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## The smallest plugin package")[1].split("\n## ")[0]
    return dict(FILE_BLOCK.findall(section))


def test_the_example_shows_every_file_of_its_tree():
    assert sorted(example_files()) == [
        "pyproject.toml",
        "recipes/mymethod_sst2.yaml",
        "src/peftctl_mymethod/__init__.py",
        "src/peftctl_mymethod/config.py",
        "src/peftctl_mymethod/method.py",
        "src/peftctl_mymethod/plugin.py",
        "tests/test_mymethod.py",
    ]


def test_the_example_installs_lists_and_passes_its_tests(tmp_path):
    package = tmp_path / "peftctl-mymethod"
    for relative, text in example_files().items():
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        (package / relative).write_text(text, encoding="utf-8")
    python = venv_python(tmp_path / "venv")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    check([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", package], env)
    listed = json.loads(check([python, "-m", "peftctl", "list-methods", "--json"], env))
    record = next(m for m in listed if m["name"] == "mymethod")
    assert record["trainable"] == 30 * 2 * 4 * ((576 + 576) + (576 + 192))  # 2r(in + out)
    tests = [python, "-m", "pytest", package / "tests", "-q", "-p", "no:cacheprovider"]
    summary = check(tests, env).strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary
