"""A running server: models, engine and app behind uvicorn. ``serve_forever`` is the command's
(Ctrl-C: in-flight requests are answered, then it exits); :class:`BackgroundServer` runs one
in a thread (tests, benchmarks)."""

from __future__ import annotations

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
    lanes: int = 2
    max_batch: int = 8
    options: ServerOptions = field(default_factory=ServerOptions)


def load_models(
    config: RecipeConfig, adapters: Sequence[tuple[str, str]], lanes: int
) -> ServedModels:
    """The base of ``config`` and each ``(name, run directory)`` adapter, loaded."""
    models = ServedModels(config, lanes=lanes)
    for name, path in adapters:
        models.add(name, path)
    return models


def uvicorn_server(models: ServedModels, settings: ServeSettings) -> tuple[uvicorn.Server, Engine]:
    metrics = ServerMetrics()
    engine = Engine(models, metrics, max_batch=settings.max_batch)
    app = build_app(models, engine, metrics, settings.options)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", access_log=False
    )
    return uvicorn.Server(config), engine


def serve_forever(models: ServedModels, settings: ServeSettings) -> None:
    """Serve until Ctrl-C (or SIGTERM); requests in flight are answered before it returns."""
    server, engine = uvicorn_server(models, settings)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises the signal once it has shut down
        pass
    finally:
        engine.close(timeout=DRAIN_TIMEOUT_S)
    print("stopped: every request in flight was answered", file=sys.stderr)


class BackgroundServer:
    """A server in a daemon thread of this process, on ``settings.host:port``."""

    def __init__(self, models: ServedModels, settings: ServeSettings) -> None:
        self.settings = settings
        self.server, self.engine = uvicorn_server(models, settings)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.engine.close(timeout=DRAIN_TIMEOUT_S)
