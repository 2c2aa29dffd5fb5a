"""Atomic writes leave either the old file or the new one, never a partial file."""

from __future__ import annotations

import json

import pytest

from peftctl import atomic


def test_writes_json_and_jsonl(tmp_path):
    atomic.write_json_atomic(tmp_path / "sub" / "m.json", {"a": 1})
    atomic.write_jsonl_atomic(tmp_path / "p.jsonl", [{"x": "é"}, {"x": 2}])
    assert json.loads((tmp_path / "sub" / "m.json").read_text()) == {"a": 1}
    assert (tmp_path / "p.jsonl").read_text(encoding="utf-8") == '{"x": "é"}\n{"x": 2}\n'


def test_failure_midway_keeps_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "p.jsonl"
    target.write_text("old\n")

    def records():
        yield {"ok": 1}
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic.write_jsonl_atomic(target, records())
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.jsonl"]


def test_writes_bytes(tmp_path):
    atomic.write_bytes_atomic(tmp_path / "sub" / "b.png", b"\x89PNG\r\n")
    assert (tmp_path / "sub" / "b.png").read_bytes() == b"\x89PNG\r\n"
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["b.png"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_written_file_has_the_mode_a_plain_open_gives(tmp_path, umask):
    import os

    before = os.umask(umask)
    try:
        atomic.write_text_atomic(tmp_path / "a.txt", "x")
        (tmp_path / "plain.txt").write_text("x")
    finally:
        os.umask(before)
    mode = (tmp_path / "a.txt").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain.txt").stat().st_mode & 0o777 == 0o666 & ~umask
