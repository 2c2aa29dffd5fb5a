"""Shared fixtures: a data directory for the staged benchmarks, fresh plugin sets, fake plugins."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("PEFTCTL_DATA_DIR", str(REPO.parent / "shared" / "data"))
if os.environ.get("PYTEST_XDIST_WORKER"):
    # xdist runs a worker per core: a PyTorch OpenMP pool per worker the size of the machine
    # spin-waits against the other's (2 cores: the family matrices took 121 s, 24 s with one
    # thread per worker). The processes tests start inherit it.
    os.environ["OMP_NUM_THREADS"] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


@pytest.fixture(autouse=True)
def _fresh_plugins():
    """Each test sees plugins discovered anew (environment and sys.path may differ)."""
    from peftctl.plugin_manager import get_plugins

    get_plugins.cache_clear()
    yield
    get_plugins.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """accelerate keeps process-wide singletons; each test starts and ends without them (a
    no-op until some test has imported accelerate)."""
    _reset_accelerate()
    yield
    _reset_accelerate()


def _reset_accelerate() -> None:
    import sys

    if "accelerate.state" not in sys.modules:
        return
    from accelerate.state import AcceleratorState, GradientState, PartialState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    PartialState._reset_state()


@pytest.fixture
def make_plugin_dist(tmp_path, monkeypatch) -> Callable[..., Path]:
    """Create an installed-looking distribution (``*.dist-info`` + module) on ``sys.path``.

    ``make_plugin_dist("peftctl-foo", "1.2", {"foo": "peftctl_foo"}, {"peftctl_foo.py": code})``
    """
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    monkeypatch.syspath_prepend(str(site))

    def make(dist: str, version: str, entry_points: dict[str, str], files: dict[str, str]) -> Path:
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = "\n".join(f"{name} = {value}" for name, value in entry_points.items())
        (info / "entry_points.txt").write_text(f"[peftctl]\n{lines}\n")
        for relative, code in files.items():
            target = site / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(code))
        return site

    return make


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    """A tiny model + tokenizer on disk, trained on SST-2 sentences (for the CLI): the sample
    shipped inside peftctl, so it is the same model with or without the staged data."""
    import json

    from peftctl.datasets.sources import sample_file
    from tests.training.tiny import save_tiny_model

    texts = []
    for split in ("train", "validation"):
        lines = sample_file("sst2", split).read_text(encoding="utf-8").splitlines()
        texts += [json.loads(line)["sentence"] for line in lines]
    texts += ["negative positive Classify the sentiment user assistant system"] * 20
    return save_tiny_model(tmp_path_factory.mktemp("tiny-model"), texts)


@pytest.fixture
def cli(capsys) -> Callable[..., tuple[int, str, str]]:
    """Run ``peftctl *argv`` in-process as a fresh process would: (exit code, stdout, stderr)."""
    from peftctl.cli import main
    from peftctl.plugin_manager import get_plugins

    def run(*argv: str) -> tuple[int, str, str]:
        get_plugins.cache_clear()
        try:
            main(list(argv))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run
