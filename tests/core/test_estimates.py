"""Trainable-parameter estimates are kept between runs and computed again when what they were
computed from changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peftctl.cli import estimates
from peftctl.cli.estimates import trainable_estimates
from peftctl.specs import MethodSpec

CONFIG = """
from dataclasses import dataclass

@dataclass
class Cfg:
    name: str

    def trainable_estimate(self, arch):
        return {value}
"""


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A fresh cache dir; peftctl's own files count as old even if just edited."""
    monkeypatch.setenv("PEFTCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(estimates, "RACY_S", 0.0)
    return tmp_path / "cache"


@pytest.fixture
def computed(monkeypatch) -> list[str]:
    """Names of the methods whose estimate was computed (not read from the cache)."""
    names: list[str] = []
    compute = estimates.default_trainable_estimate

    def spy(spec: MethodSpec) -> int | None:
        names.append(spec.name)
        return compute(spec)

    monkeypatch.setattr(estimates, "default_trainable_estimate", spy)
    return names


def write_config(root: Path, value: int, age_s: float = 60.0) -> None:
    """Package ``est_pkg`` in ``root`` whose config estimates ``value``, files ``age_s`` old."""
    package = root / "est_pkg"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "config.py").write_text(CONFIG.format(value=value))
    stamp = time.time() - age_s
    for file in package.iterdir():
        os.utime(file, (stamp, stamp))


def new_process(monkeypatch, root: Path) -> None:
    """What a new process would see: ``root`` on sys.path, est_pkg not yet imported."""
    monkeypatch.setattr(sys, "path", [str(root), *sys.path])
    for name in ("est_pkg", "est_pkg.config"):
        monkeypatch.delitem(sys.modules, name, raising=False)


def spec(version: str = "1") -> MethodSpec:
    return MethodSpec(
        name="est",
        summary="",
        impl="est_pkg.method:M",
        category="additive",
        config="est_pkg.config:Cfg",
        package="peftctl-est",
        version=version,
    )


def test_kept_estimates_are_read_without_computing(tmp_path, monkeypatch, computed):
    write_config(tmp_path / "a", 123)
    new_process(monkeypatch, tmp_path / "a")
    assert trainable_estimates([spec()]) == {"est": 123}
    new_process(monkeypatch, tmp_path / "a")
    assert trainable_estimates([spec()]) == {"est": 123}
    assert computed == ["est"]
    assert "est_pkg.config" not in sys.modules


def test_an_edited_config_is_estimated_again(tmp_path, monkeypatch, computed):
    write_config(tmp_path / "a", 123)
    new_process(monkeypatch, tmp_path / "a")
    trainable_estimates([spec()])
    write_config(tmp_path / "a", 4567, age_s=30.0)
    new_process(monkeypatch, tmp_path / "a")
    assert trainable_estimates([spec()]) == {"est": 4567}
    assert computed == ["est", "est"]


def test_another_checkout_of_the_same_version_is_estimated_again(tmp_path, monkeypatch):
    write_config(tmp_path / "a", 123)
    write_config(tmp_path / "b", 999)
    new_process(monkeypatch, tmp_path / "a")
    assert trainable_estimates([spec()]) == {"est": 123}
    new_process(monkeypatch, tmp_path / "b")
    assert trainable_estimates([spec()]) == {"est": 999}


def test_another_version_or_method_set_is_estimated_again(tmp_path, monkeypatch, computed):
    write_config(tmp_path / "a", 123)
    for specs in ([spec("1")], [spec("2")], [spec("2"), spec("2").__class__(**_other())]):
        new_process(monkeypatch, tmp_path / "a")
        trainable_estimates(specs)
    assert computed == ["est", "est", "est", "other"]


def _other() -> dict[str, str]:
    return {"name": "other", "summary": "", "impl": "m:a", "category": "additive"}


def test_files_changed_just_now_are_not_trusted(tmp_path, monkeypatch, cache_dir):
    monkeypatch.setattr(estimates, "RACY_S", 2.0)
    write_config(tmp_path / "a", 123, age_s=0.0)  # an edit in the same mtime tick could follow
    new_process(monkeypatch, tmp_path / "a")
    assert trainable_estimates([spec()]) == {"est": 123}
    assert not estimates.cache_file().exists()


@pytest.mark.parametrize("content", ["not json", '{"key": 1}', "[]"])
def test_a_damaged_cache_file_is_replaced(content, tmp_path, monkeypatch, computed):
    write_config(tmp_path / "a", 123)
    estimates.cache_file().parent.mkdir(parents=True)
    estimates.cache_file().write_text(content)
    new_process(monkeypatch, tmp_path / "a")
    assert trainable_estimates([spec()]) == {"est": 123}
    assert json.loads(estimates.cache_file().read_text())["estimates"] == {"est": 123}


def test_an_unwritable_cache_dir_only_costs_time(tmp_path, monkeypatch, computed):
    write_config(tmp_path / "a", 123)
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("PEFTCTL_CACHE_DIR", str(tmp_path / "file"))  # not a folder
    for _ in range(2):
        new_process(monkeypatch, tmp_path / "a")
        assert trainable_estimates([spec()]) == {"est": 123}
    assert computed == ["est", "est"]


PROBE = """
import sys
from peftctl.cli import main
main(["list-methods", "--json"])
print("peftctl_ia3.config" in sys.modules, file=sys.stderr)
"""


def test_list_methods_reads_kept_estimates_in_a_new_process(cache_dir):
    newest = max(f.stat().st_mtime for f in Path(estimates.__file__).parents[1].rglob("*.py"))
    time.sleep(max(0.0, newest + 2.0 - time.time()))  # a just-edited source is not trusted

    def run() -> tuple[str, str]:
        env = {**os.environ, "PEFTCTL_CACHE_DIR": str(cache_dir)}
        result = subprocess.run(
            [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env
        )
        return result.stdout, result.stderr.strip().splitlines()[-1]

    first, second = run(), run()
    assert first == (second[0], "True") and second[1] == "False"
    assert any(m["trainable"] for m in json.loads(first[0]))
