"""The core needs neither ``adapters`` nor ``bitsandbytes``: the plugins that use them declare
them, and the core imports, lists and trains with both libraries absent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

REPO = Path(__file__).resolve().parents[2]
PLUGIN_ONLY = {"adapters": "peftctl-adapters", "bitsandbytes": "peftctl-qlora"}


def dependencies(pyproject: Path) -> set[str]:
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return {dep.split(">")[0].split("=")[0].split("<")[0].strip() for dep in deps}


def test_only_the_plugins_that_use_them_declare_them():
    core = dependencies(REPO / "pyproject.toml")
    for library, plugin in PLUGIN_ONLY.items():
        assert library not in core
        assert library in dependencies(REPO / "plugins" / plugin / "pyproject.toml")


def test_the_core_works_with_both_libraries_absent():
    code = """
import sys
sys.modules["adapters"] = sys.modules["bitsandbytes"] = None  # import fails: not installed
from peftctl.cli import main
from peftctl.testing import make_method, random_batch, tiny_llama, token_loss
try:
    main(["list-methods", "--json"])
except SystemExit as exc:
    assert not exc.code, exc.code
method = make_method("lora", r=2)
model = method.apply(tiny_llama())
token_loss(method, model, random_batch()).backward()
assert "bitsandbytes" not in {m.split(".")[0] for m in sys.modules if sys.modules[m]}
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
