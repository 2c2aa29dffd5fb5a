"""A running server: models, engine and app behind uvicorn. ``serve_forever`` is the command's:
the engine's loop on the main thread, uvicorn beside it (Ctrl-C: in-flight requests are
answered, then it exits); :class:`BackgroundServer` runs both in threads (tests)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import uvicorn

from peftctl.config.schema import RecipeConfig
from peftctl.serve.adapters import ServedModels
from peftctl.serve.api import ServerOptions, build_app
from peftctl.serve.engine import Engine
from peftctl.serve.metrics import ServerMetrics

#: how long Ctrl-C waits for queued and running generations
DRAIN_TIMEOUT_S = 120.0


@dataclass
class ServeSettings:
    """How ``peftctl serve`` runs: where it listens, and its batching and limits."""

    host: str = "127.0.0.1"
    port: int = 8000
    max_batch: int = 8
    options: ServerOptions = field(default_factory=ServerOptions)


def load_models(config: RecipeConfig, adapters: Sequence[tuple[str, str]]) -> ServedModels:
    """The base of ``config`` and each ``(name, run directory)`` adapter, loaded."""
    models = ServedModels(config)
    for name, path in adapters:
        models.add(name, path)
    return models


def uvicorn_server(
    models: ServedModels, settings: ServeSettings, *, engine_thread: bool = True
) -> tuple[uvicorn.Server, Engine]:
    metrics = ServerMetrics()
    engine = Engine(models, metrics, max_batch=settings.max_batch, thread=engine_thread)
    app = build_app(models, engine, metrics, settings.options)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", access_log=False
    )
    return uvicorn.Server(config), engine


def serve_forever(models: ServedModels, settings: ServeSettings) -> None:
    """Serve until Ctrl-C (or SIGTERM); requests in flight are answered before it returns.
    The engine's loop runs here, on the main thread; uvicorn in a thread beside it."""
    server, engine = uvicorn_server(models, settings, engine_thread=False)
    web = _start(server, f"http://{settings.host}:{settings.port}")
    stop = lambda *_: engine.request_close()  # noqa: E731
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        engine.run()  # returns once closing and every request is answered
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.should_exit = True
        web.join(timeout=DRAIN_TIMEOUT_S)
    print("stopped: every request in flight was answered", file=sys.stderr)


def _start(server: uvicorn.Server, url: str, timeout: float = 30.0) -> threading.Thread:
    """Run ``server`` in a daemon thread; return once it listens."""
    thread = threading.Thread(target=server.run, name="peftctl-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the server did not start on {url}")
        time.sleep(0.02)
    return thread


class BackgroundServer:
    """A server in a daemon thread of this process, on ``settings.host:port``."""

    def __init__(self, models: ServedModels, settings: ServeSettings) -> None:
        self.settings = settings
        self.server, self.engine = uvicorn_server(models, settings)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def start(self) -> BackgroundServer:
        self.thread = _start(self.server, self.url)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.engine.close(timeout=DRAIN_TIMEOUT_S)
