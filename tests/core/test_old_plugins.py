"""A plugin written against 0.1/0.2 (internal imports, moved modules) still installs and
runs, with one warning per internal module naming its ``peftctl.api`` replacement."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

OLD_PLUGIN = Path(__file__).resolve().parents[1] / "fixtures" / "old_plugin"
PLUGIN = OLD_PLUGIN / "oldfreeze"
RECIPE = "method:\n  name: oldfreeze\ndataset:\n  name: sst2\n"


def peftctl(*argv: str, plugin_path: Path | None = PLUGIN) -> subprocess.CompletedProcess:
    # its hooks come through PEFTCTL_PLUGIN_PATH, its modules import as if pip-installed
    path = os.pathsep.join(filter(None, [str(OLD_PLUGIN), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PEFTCTL_PLUGIN_PATH": str(plugin_path or ""), "PYTHONPATH": path}
    command = [sys.executable, "-m", "peftctl", *argv]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def validated(tmp_path_factory) -> subprocess.CompletedProcess:
    recipe = tmp_path_factory.mktemp("old") / "old.yaml"
    recipe.write_text(RECIPE)
    return peftctl("validate", str(recipe))


def test_it_runs(validated):
    assert validated.returncode == 0, validated.stderr


@pytest.mark.parametrize(
    ("module", "instead"),
    [
        ("peftctl.specs", "import MethodSpec from peftctl.api instead"),
        ("peftctl.methods.base", "import Method, MethodConfig, causal_lm from peftctl.api instead"),
        ("peftctl.models.arch", "import Arch from peftctl.api instead"),
        ("peftctl.config", "typed has no public replacement"),
    ],
)
def test_each_internal_module_is_one_warning_naming_the_replacement(validated, module, instead):
    lines = [ln for ln in validated.stderr.splitlines() if f"imports {module}," in ln]
    assert len(lines) == 1, validated.stderr
    assert lines[0].startswith("warning: plugin package 'oldfreeze'")
    assert instead in lines[0] and "Migrating a 0.1/0.2 plugin" in lines[0]


def test_a_plugin_on_the_public_api_gets_no_warning():
    done = peftctl("validate", "lora_sst2", plugin_path=None)
    assert done.returncode == 0, done.stderr
    assert "internal" not in done.stderr


def test_moved_modules_are_the_new_ones():
    import peftctl.facts.arch
    from peftctl.compat_imports import MOVED
    from peftctl.models import arch  # the 0.2 name

    assert arch is peftctl.facts.arch and arch.__spec__.name == "peftctl.facts.arch"
    for old, new in MOVED.items():
        assert sys.modules.get(new) is None or __import__(old, fromlist=["_"]).__name__ == new
