"""``peftctl ui``: the web page over bench and run directories (optional extra ``ui``)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import typer

from peftctl.cli.ports import LOOPBACK, check_port_free
from peftctl.errors import PeftctlError

DIRS_ARG = typer.Argument(None, help="Bench directories or folders of runs; default runs/.")


def ui(
    dirs: list[str] = DIRS_ARG,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; loopback by default."),
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on."),
    read_only: bool = typer.Option(False, "--read-only", help="No Launch tab."),
) -> None:
    """Explore, compare and launch runs in a browser (pip install 'peftctl[ui]')."""
    roots = [Path(d).expanduser() for d in dirs or ["runs"]]
    for root in roots:
        if not root.is_dir():
            raise PeftctlError(f"{root} is not a directory; pass a bench or runs folder")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if not _installed("gradio"):
        raise PeftctlError("peftctl ui needs the web extra: pip install 'peftctl[ui]'")
    check_port_free(host, port)
    if host not in LOOPBACK:
        print(
            f"warning: serving on {host}: anyone who can reach this address can see your runs"
            + ("" if read_only else " and start jobs on this machine (use --read-only)"),
            file=sys.stderr,
        )
    print(f"peftctl ui: starting on http://{host}:{port} (gradio takes seconds to import)")
    import gradio

    from peftctl.ui.app import build_app, launch_options
    from peftctl.ui.launch import jobs_folder

    jobs_root = None
    if not read_only:
        jobs_root = jobs_folder(roots)
        jobs_root.mkdir(parents=True, exist_ok=True)
        if not any(_covers(root, jobs_root) for root in roots):
            roots.append(jobs_root)  # launched runs are always listed
    app = build_app(roots, read_only=read_only, jobs_root=jobs_root)
    # SIGTERM ends the server as Ctrl-C does, so the cleanup below runs
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        app.launch(
            server_name=host,
            server_port=port,
            show_error=False,
            ssr_mode=False,
            **launch_options(gradio),
        )
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        _close(app)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # in sys.modules as None: treated as missing
        return False


def _covers(root: Path, folder: Path) -> bool:
    return folder.resolve().is_relative_to(root.resolve())


def _close(app) -> None:
    """Stop launched jobs, remove the page's temp folder."""
    launcher = getattr(app, "peftctl_launcher", None)
    if launcher is not None:
        launcher.stop_all()
    page = getattr(app, "peftctl_page", None)
    if page is not None:
        page.close()


def register(app: typer.Typer) -> None:
    app.command("ui")(ui)
