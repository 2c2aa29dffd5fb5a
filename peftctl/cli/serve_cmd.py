"""``peftctl serve``: an OpenAI-compatible server for one base model and many adapters
(optional extra ``serve``)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from peftctl.cli.ports import LOOPBACK, check_port_free
from peftctl.errors import PeftctlError

ADAPTERS_ARG = typer.Argument(
    None, help="Runs to serve as adapters: RUN_DIR (named after its folder) or NAME=RUN_DIR."
)


def serve(
    adapters: list[str] = ADAPTERS_ARG,
    model: str = typer.Option(
        None, "--model", "-m", help="Base model (default: the adapters' base, else the default)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; loopback by default."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    api_key: str = typer.Option(
        None, "--api-key", envvar="PEFTCTL_API_KEY", help="Require 'Authorization: Bearer KEY'."
    ),
    max_batch: int = typer.Option(
        8, "--max-batch", min=1, help="Requests of one model decoded together."
    ),
    max_tokens_limit: int = typer.Option(
        2048, "--max-tokens-limit", min=1, help="Largest max_tokens a request may ask for."
    ),
    precision: str = typer.Option(
        None, "--precision", help="auto (bf16 where fast, else fp32), fp32, bf16 or fp16."
    ),
) -> None:
    """Serve the base model and adapters over the OpenAI API (pip install 'peftctl[serve]')."""
    named = [_named(arg) for arg in adapters or []]
    _check_names(named)
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise PeftctlError(
            "peftctl serve needs the serve extra: pip install 'peftctl[serve]'"
        ) from None
    if host not in LOOPBACK:
        if not api_key:
            raise PeftctlError(
                f"--host {host} is reachable from other machines: pass --api-key KEY (or set "
                "PEFTCTL_API_KEY)"
            )
        print(
            f"warning: serving on {host}: anyone who can reach it and has the key can use "
            "this machine's CPU/GPU",
            file=sys.stderr,
        )
    check_port_free(host, port)
    from peftctl.config.recipe import build_recipe
    from peftctl.serve.adapters import adapter_candidate
    from peftctl.serve.api import ServerOptions
    from peftctl.serve.server import ServeSettings, load_models, serve_forever

    overrides = [] if precision is None else [f"train.precision={precision}"]
    config = build_recipe({"model": {"name": model or _base_of(named)}}, overrides)
    for name, path in named:  # every run found and on this base before anything loads
        adapter_candidate(name, path, config.model.name)
    models = load_models(config, named)
    options = ServerOptions(api_key=api_key, max_tokens_limit=max_tokens_limit)
    settings = ServeSettings(host, port, max_batch, options)
    shown = "[" + host + "]" if ":" in host else host
    print(
        f"serving {', '.join(models.names())} at http://{shown}:{port}/v1 (Ctrl-C stops)",
        file=sys.stderr,
    )
    serve_forever(models, settings)


def _named(arg: str) -> tuple[str, str]:
    """``(name, path)`` of ``NAME=RUN_DIR`` or ``RUN_DIR`` (named after its run folder)."""
    from peftctl.run_files import ADAPTER  # not at import: listing commands stay light

    name, sep, path = arg.partition("=")
    if not sep:
        given = Path(arg).expanduser()
        run = given.parent if given.name == ADAPTER else given
        return run.resolve().name, arg
    if not name or not path:
        raise PeftctlError(f"adapter '{arg}': write NAME=RUN_DIR or RUN_DIR")
    return name, path


def _check_names(named: list[tuple[str, str]]) -> None:
    seen: dict[str, str] = {}
    for name, path in named:
        if name in seen:
            raise PeftctlError(
                f"two adapters are named '{name}' ({seen[name]}, {path}); name them: NAME=RUN_DIR"
            )
        seen[name] = path


def _base_of(named: list[tuple[str, str]]) -> str:
    """The base model the first adapter was trained on; the default model without adapters."""
    from peftctl.facts.names import DEFAULT_MODEL
    from peftctl.serve.adapters import adapter_run

    return adapter_run(named[0][1])[1].model.name if named else DEFAULT_MODEL


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
