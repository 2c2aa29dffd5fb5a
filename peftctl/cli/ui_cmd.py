"""``peftctl ui``: the web page over bench and run directories (optional extra ``ui``)."""

from __future__ import annotations

import os
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
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise PeftctlError("peftctl ui needs the web extra: pip install 'peftctl[ui]'") from None
    check_port_free(host, port)
    if host not in LOOPBACK:
        print(
            f"warning: serving on {host}: anyone who can reach this address can see your runs"
            + ("" if read_only else " and start jobs on this machine (use --read-only)"),
            file=sys.stderr,
        )
    from peftctl.ui.app import build_app

    app = build_app(roots, read_only=read_only)
    app.launch(server_name=host, server_port=port, show_error=True, ssr_mode=False)


def register(app: typer.Typer) -> None:
    app.command("ui")(ui)
