"""`--executor ray`: the same cells as Ray tasks on a real local cluster, started by the test
inside a private network namespace (loopback only)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from peftctl.bench.store import BenchDir, cell_records
from peftctl.errors import PeftctlError
from tests.bench.test_bench_run import write_spec


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    return probe.returncode == 0


needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None or not _can_unshare(),
    reason="needs ray (pip install 'peftctl[ray]') and unshare -n (root)",
)


@needs_ray
def test_ray_executor_runs_the_cells_on_a_local_cluster(tmp_path, tiny_model_dir):
    spec = write_spec(tmp_path, tiny_model_dir, methods=["lora"])  # one cell: Ray's part
    out = tmp_path / "out"
    ray = Path(sys.executable).parent / "ray"
    script = "\n".join(
        [
            "ip link set lo up",
            f"{ray} start --head --node-ip-address 127.0.0.1 --port 6390 --num-cpus 2 "
            "--include-dashboard false --disable-usage-stats > /dev/null 2>&1",
            f"{sys.executable} -m peftctl bench run {spec} -o {out} -q --executor ray "
            "--ray-address 127.0.0.1:6390 --cpus-per-cell 1",
            "rc=$?",
            f"{ray} stop --force > /dev/null 2>&1",
            "exit $rc",
        ]
    )
    done = subprocess.run(
        ["unshare", "-n", "bash", "-c", script], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(ray)" in done.stdout and "done: 1 finished, 0 failed" in done.stdout
    records = cell_records(BenchDir(out))
    assert [r["status"] for r in records] == ["finished"]
    assert all(r["hardware"]["threads"] == 1 for r in records)  # one CPU reserved per cell
    assert (out / "results.csv").is_file()


def test_ray_missing_is_a_one_line_error(monkeypatch):
    from peftctl.bench import executors

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(PeftctlError, match=r"pip install 'peftctl\[ray\]'"):
        executors._import_ray()
