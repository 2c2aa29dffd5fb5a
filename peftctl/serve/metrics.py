"""What ``GET /metrics`` reports, in Prometheus' text format (``prometheus_client``)."""

from __future__ import annotations

import threading
import time
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

#: how far back ``peftctl_tokens_per_second`` looks
RATE_WINDOW_S = 10.0


class ServerMetrics:
    """Counters of one server (its own registry: several servers in one process, as in tests,
    do not mix)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "peftctl_requests",
            "Requests answered, by endpoint and HTTP status.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.prompt_tokens = Counter(
            "peftctl_prompt_tokens", "Prompt tokens of answered requests.", registry=self.registry
        )
        self.generated_tokens = Counter(
            "peftctl_generated_tokens", "Tokens generated.", ["model"], registry=self.registry
        )
        self.batch_size = Histogram(
            "peftctl_batch_size",
            "Requests in each decoding step.",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )
        self.queue_length = Gauge(
            "peftctl_queue_length", "Requests waiting for a lane.", registry=self.registry
        )
        self.tokens_per_second = Gauge(
            "peftctl_tokens_per_second",
            f"Tokens generated per second over the last {RATE_WINDOW_S:.0f} s.",
            registry=self.registry,
        )
        self._recent: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()
        self.tokens_per_second.set_function(self._rate)

    def record_tokens(self, model: str, tokens: int) -> None:
        self.generated_tokens.labels(model=model).inc(tokens)
        with self._lock:
            self._recent.append((time.monotonic(), tokens))

    def _rate(self) -> float:
        now = time.monotonic()
        with self._lock:
            while self._recent and self._recent[0][0] < now - RATE_WINDOW_S:
                self._recent.popleft()
            return sum(tokens for _, tokens in self._recent) / RATE_WINDOW_S

    def text(self) -> bytes:
        return generate_latest(self.registry)
