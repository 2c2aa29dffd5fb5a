"""The converted-model cache: location, keys, and builds that are atomic even when killed."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from peftctl.errors import PeftctlError
from peftctl.models import cache


def test_cache_root_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "c"))
    assert cache.cache_root() == tmp_path / "c"
    monkeypatch.delenv(cache.CACHE_ENV)
    assert cache.cache_root() == Path.home() / ".cache" / "peftctl"


def test_fingerprint_follows_content_not_location(tmp_path):
    first, copy, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    first.write_bytes(b"x" * 3_000_000)
    copy.write_bytes(b"x" * 3_000_000)
    other.write_bytes(b"x" * 2_999_999 + b"y")
    assert cache.file_fingerprint(first) == cache.file_fingerprint(copy)
    assert cache.file_fingerprint(first) != cache.file_fingerprint(other)


def test_cache_key_depends_on_every_part():
    assert cache.cache_key("a", "b") == cache.cache_key("a", "b")
    assert cache.cache_key("a", "b") != cache.cache_key("ab", "")


def test_build_once_builds_then_reuses(tmp_path):
    calls = []

    def build(folder: Path) -> None:
        calls.append(folder)
        (folder / "weights").write_text("w")

    target = tmp_path / "models" / "m"
    assert cache.build_once(target, build) == target
    assert cache.build_once(target, build) == target
    assert len(calls) == 1 and (target / "weights").read_text() == "w"
    assert not calls[0].exists()  # the temporary directory became the target


def test_failed_build_leaves_nothing_behind(tmp_path):
    def build(folder: Path) -> None:
        (folder / "half").write_text("h")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.build_once(tmp_path / "m", build)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_killed_build_is_never_used_and_is_cleaned_up(tmp_path):
    target = tmp_path / "m"
    script = f"""
        import os, signal
        from pathlib import Path
        from peftctl.models.cache import build_once

        def build(folder):
            (folder / "half").write_text("h")
            os.kill(os.getpid(), signal.SIGKILL)

        build_once(Path({str(target)!r}), build)
    """
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=False)
    assert run.returncode == -signal.SIGKILL
    leftovers = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert not target.exists() and len(leftovers) == 1  # the dead process's temp dir

    cache.build_once(target, lambda folder: (folder / "full").write_text("f"))
    assert sorted(p.name for p in target.iterdir()) == ["full"]
    assert not leftovers[0].exists()


def test_unusable_cache_dir_is_a_user_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(PeftctlError, match="set PEFTCTL_CACHE_DIR to a writable directory"):
        cache.build_once(blocker / "models" / "m", lambda folder: None)


def test_concurrent_builders_build_once(tmp_path):
    builds = []

    def slow_build(folder: Path) -> None:
        builds.append(folder)
        time.sleep(0.2)
        (folder / "done").write_text("d")

    target = tmp_path / "m"
    threads = [threading.Thread(target=cache.build_once, args=(target, slow_build)) for _ in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and (target / "done").is_file()
