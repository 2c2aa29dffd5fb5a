"""Where cells run: local worker processes (``--jobs N``, the cores divided between them), or
Ray tasks on an existing cluster, one CPU/GPU reservation per cell. Either way a cell is the
same worker process (``python -m peftctl.bench.worker``) writing into the shared output
directory; no scheduler or RPC of our own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from peftctl.bench.ray_address import RAY_ADVICE, first_line, stderr_held_back
from peftctl.bench.store import BenchDir, set_state
from peftctl.errors import PeftctlError

# Variables a worker needs from the launching shell (data, cache, plugins, hub mode).
_PASS_PREFIXES = ("PEFTCTL_", "HF_", "TRANSFORMERS_")
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

Started = Callable[[str], None]
Ended = Callable[[str, float], None]


def available_cores() -> int:
    """Cores this process may use (its CPU affinity), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_env(threads: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a worker process limited to ``threads`` threads."""
    env = dict(os.environ if base is None else base)
    for name in _THREAD_VARS:
        env[name] = str(threads)
    env["TOKENIZERS_PARALLELISM"] = "false"
    return env


def passed_env() -> dict[str, str]:
    """The launching shell's variables a remote worker needs."""
    return {k: v for k, v in os.environ.items() if k.startswith(_PASS_PREFIXES)}


def run_worker(
    root: str, name: str, threads: int, extra_env: dict[str, str] | None = None
) -> float:
    """Run one cell's worker process to its end; its wall seconds. Output goes to its log."""
    bench = BenchDir(Path(root))
    log_path = bench.log_path(name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = worker_env(threads, {**os.environ, **(extra_env or {})})
    command = [sys.executable, "-m", "peftctl.bench.worker", root, name]
    started = time.perf_counter()
    with log_path.open("a", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        _CHILDREN.add(process)
        try:
            code = process.wait()
        finally:
            _CHILDREN.discard(process)
    seconds = time.perf_counter() - started
    _record_exit(bench, name, code, seconds)
    return seconds


def run_local(
    bench: BenchDir, names: Sequence[str], jobs: int, threads: int, started: Started, ended: Ended
) -> None:
    """Run cells ``names`` in ``jobs`` worker processes at a time."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {}
        for name in names:
            futures[pool.submit(_local_cell, bench, name, threads, started)] = name
        try:
            for future in as_completed(futures):
                ended(futures[future], future.result())
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            stop_children()
            raise


def run_ray(
    bench: BenchDir,
    names: Sequence[str],
    address: str | None,
    threads: int,
    started: Started,
    ended: Ended,
) -> None:
    """Run cells ``names`` as Ray tasks on the cluster at ``address`` (default: auto)."""
    ray = _import_ray()
    try:
        with stderr_held_back():
            ray.init(address=address or "auto", log_to_driver=False, logging_level="ERROR")
    except (OSError, RuntimeError, ValueError) as error:  # OSError: ConnectionError, timeouts
        raise PeftctlError(
            f"--executor ray: could not join the Ray cluster at {address or 'auto'} "
            f"({first_line(error)}); {RAY_ADVICE}"
        ) from None
    try:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) > 0 else 0
        task = ray.remote(run_worker).options(num_cpus=threads, num_gpus=gpus, max_retries=0)
        root, env = str(bench.root.resolve()), passed_env()
        pending = {task.remote(root, name, threads, env): name for name in names}
        for name in names:
            started(name)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            name = pending.pop(done[0])
            ended(name, ray.get(done[0]))
    finally:
        ray.shutdown()


def stop_children() -> None:
    """Interrupt every running worker (they keep their checkpoints; the next run resumes)."""
    for process in list(_CHILDREN):
        process.send_signal(signal.SIGINT)
    for process in list(_CHILDREN):
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


_CHILDREN: set[subprocess.Popen] = set()
_LOCK = threading.Lock()


def _local_cell(bench: BenchDir, name: str, threads: int, started: Started) -> float:
    with _LOCK:
        started(name)
    return run_worker(str(bench.root), name, threads)


def _record_exit(bench: BenchDir, name: str, code: int, seconds: float) -> None:
    """Keep the parent's timing; a worker that died without a word is recorded as failed."""
    state = bench.read_state(name)
    fields: dict[str, object] = {"wall_seconds": round(seconds, 2)}
    if state.get("status") not in ("finished", "failed", "interrupted"):
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        fields.update(
            status="failed",
            error=f"worker died ({how}); see {bench.log_path(name)}",
        )
    set_state(bench.state_path(name), **fields)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise PeftctlError(
            "--executor ray needs Ray: pip install 'peftctl[ray]' (or use --executor local)"
        ) from None
    return ray
