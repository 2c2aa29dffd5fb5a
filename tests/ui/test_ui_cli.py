"""`peftctl ui` as a command: its checks, the loopback default, the warning, read-only."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


class FakeApp:
    def __init__(self) -> None:
        self.launched: dict = {}

    def launch(self, **kwargs) -> None:
        self.launched = kwargs


@pytest.fixture
def fake_app(monkeypatch):
    import peftctl.ui.app

    app = FakeApp()
    built: dict = {}

    def build(roots, *, read_only=False, jobs_root=None):
        built.update(roots=roots, read_only=read_only, jobs_root=jobs_root)
        return app

    monkeypatch.setattr(peftctl.ui.app, "build_app", build)
    return app, built


def test_binds_loopback_by_default_without_a_warning(cli, served, fake_app):
    app, built = fake_app
    code, _, err = cli("ui", str(served))
    assert code == 0 and err == ""
    assert app.launched["server_name"] == "127.0.0.1" and app.launched["server_port"] == 7860
    assert built == {"roots": [served], "read_only": False, "jobs_root": served}
    # the page's own fonts: gradio's default theme would ask fonts.googleapis.com
    from gradio.themes.utils.fonts import GoogleFont

    theme = app.launched["theme"]
    assert not any(isinstance(f, GoogleFont) for f in [*theme._font, *theme._font_mono])
    assert "peftctl-table" in app.launched["head"]


def test_a_bench_served_first_sends_launched_jobs_to_a_listed_folder(
    cli, served, fake_app, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    _, built = fake_app
    code, _, _ = cli("ui", str(served / "bench" / "quick"), str(served))
    assert code == 0 and built["jobs_root"] == served and len(built["roots"]) == 2
    code, _, _ = cli("ui", str(served / "bench" / "quick"))
    assert code == 0 and built["jobs_root"] == Path("runs")
    assert built["roots"][-1] == Path("runs")  # added to the served folders: always listed
    assert (tmp_path / "runs").is_dir()


def test_any_other_address_warns(cli, served, fake_app):
    app, built = fake_app
    code, _, err = cli("ui", str(served), "--host", "0.0.0.0", "--read-only", "--port", "9000")
    assert code == 0 and app.launched["server_name"] == "0.0.0.0"
    assert err.startswith("warning: serving on 0.0.0.0") and built["read_only"] is True


def test_a_missing_folder_is_one_line(cli, tmp_path):
    code, _, err = cli("ui", str(tmp_path / "nope"))
    assert (
        code == 2
        and err == f"error: {tmp_path / 'nope'} is not a directory; pass a bench or runs folder\n"
    )


def test_without_the_extra_it_says_how_to_get_it(cli, served, monkeypatch):
    monkeypatch.setitem(sys.modules, "gradio", None)
    code, _, err = cli("ui", str(served))
    assert code == 2 and err == "error: peftctl ui needs the web extra: pip install 'peftctl[ui]'\n"


def test_read_only_page_has_no_launch_form(served):
    pytest.importorskip("gradio")
    from peftctl.ui.app import build_app

    def ids(app) -> set:
        return {getattr(b, "elem_id", None) for b in app.blocks.values()}

    assert "launch-train" not in ids(build_app([served], read_only=True))
    assert "launch-train" in ids(build_app([served]))


def test_a_port_out_of_range_is_one_line(cli, served, fake_app):
    code, _, err = cli("ui", str(served), "--port", "99999")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "'--port'" in err and "65535" in err
    assert fake_app[0].launched == {}


def test_a_busy_port_is_one_line_before_gradio_starts(cli, served, fake_app):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = cli("ui", str(served), "--port", str(port))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"error: --port {port} on 127.0.0.1 cannot be used (" in err
    assert err.strip().endswith("pass a free --port")
    assert fake_app[0].launched == {}
