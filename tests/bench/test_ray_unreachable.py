"""`--executor ray` where no Ray cluster answers: one `error:` line and exit code 2 within
seconds (``ray.init`` alone retries for many minutes, logging every try), and nothing left
behind that a second run would trip over."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from peftctl.bench.store import BenchDir
from peftctl.errors import PeftctlError
from tests.bench.test_bench_run import write_spec

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="needs ray (pip install 'peftctl[ray]')"
)


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_ray_address_is_one_line_within_seconds(tmp_path, tiny_model_dir):
    spec = write_spec(tmp_path, tiny_model_dir, methods=["lora"])
    out = tmp_path / "out"
    address = f"127.0.0.1:{_free_port()}"
    command = [sys.executable, "-m", "peftctl", "bench", "run", str(spec), "-o", str(out)]
    command += ["-q", "--executor", "ray", "--ray-address", address]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    for _ in range(2):  # the second run finds nothing the first left half-done
        started = time.monotonic()
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=90)
        except subprocess.TimeoutExpired as expired:
            pytest.fail(f"still connecting after 90 s; stderr: {str(expired.stderr)[-1000:]}")
        seconds = time.monotonic() - started
        assert done.returncode == 2, done.stderr[-2000:]
        assert seconds < 20, seconds
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr[-2000:]  # no Ray log lines, no traceback
        assert lines[0].startswith(f"error: --executor ray: no Ray cluster answers at {address}")
        assert "ray start --head" in lines[0] and "--executor local" in lines[0]
    assert not out.exists()  # checked before anything is written


def _check(address: str | None) -> str:
    from peftctl.bench.ray_address import check_ray_address

    with pytest.raises(PeftctlError) as raised:
        check_ray_address(address)
    return str(raised.value)


def test_nothing_listening_is_refused_for_a_gcs_and_a_ray_client_address(monkeypatch):
    port = _free_port()
    assert f"answers at 127.0.0.1:{port} (connection refused)" in _check(f"127.0.0.1:{port}")
    assert f"answers at ray://127.0.0.1:{port} (connection refused)" in _check(
        f"ray://127.0.0.1:{port}"
    )
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    assert f"answers at RAY_ADDRESS=127.0.0.1:{port} (connection refused)" in _check(None)


def test_a_listener_that_never_answers_is_refused_after_the_probe_timeout(monkeypatch):
    from peftctl.bench import ray_address

    monkeypatch.setattr(ray_address, "PROBE_SECONDS", 0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        assert "(no gRPC answer within 0.5 s)" in _check(address)
        assert time.monotonic() - started < 10


def test_a_grpc_server_that_is_not_ray_is_named_as_such():
    grpc = pytest.importorskip("grpc")
    server = grpc.server(ThreadPoolExecutor(max_workers=1))  # no services: all UNIMPLEMENTED
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        assert "but not a Ray GCS" in _check(f"127.0.0.1:{port}")
        assert "but not a Ray Client server" in _check(f"ray://127.0.0.1:{port}")
    finally:
        server.stop(None)


def test_an_address_without_a_port_is_refused_and_local_is_not_probed():
    from peftctl.bench.ray_address import check_ray_address

    assert "expected HOST:PORT" in _check("headnode")
    check_ray_address("local")  # ray.init starts a new cluster: nothing to reach


def test_a_failing_ray_init_is_one_line_without_its_log_output(tmp_path, monkeypatch, capfd):
    from types import SimpleNamespace

    from peftctl.bench import executors

    def init(**_):
        os.write(2, b"[W gcs_client.cc] Failed to get cluster ID from GCS server\n")
        raise ConnectionError("Failed to connect to Ray cluster")

    monkeypatch.setattr(executors, "_import_ray", lambda: SimpleNamespace(init=init))
    with pytest.raises(PeftctlError, match=r"could not join the Ray cluster at 10\.0\.0\.1:6379"):
        executors.run_ray(BenchDir(tmp_path), ["cell"], "10.0.0.1:6379", 1, print, print)
    assert capfd.readouterr().err == ""
