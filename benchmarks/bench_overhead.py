"""`peftctl bench run` around its cells: whole-command wall time, the sum of the cells' worker
times, the overhead (spec, cell set-up, report and plots) and throughput in cells/hour, for
--jobs 1 and --jobs 2 on the same spec, one after the other in fresh output directories.

Run alone on a quiet machine:
    PEFTCTL_DATA_DIR=../shared/data python benchmarks/bench_overhead.py [--spec quick] [k=v ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_bench(spec: str, overrides: list[str], out: Path, jobs: int) -> dict:
    """One `peftctl bench run` in a subprocess; its timings."""
    command = [sys.executable, "-m", "peftctl", "bench", "run", spec, *overrides]
    command += ["-o", str(out), "--jobs", str(jobs), "-q"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench run failed: {done.stderr.strip().splitlines()[-1]}")
    states = [json.loads(p.read_text()) for p in (out / "state").glob("*.json")]
    cells = sum(s["wall_seconds"] for s in states)
    return {
        "jobs": jobs,
        "cells": len(states),
        "wall_s": round(wall, 1),
        "sum_cell_s": round(cells, 1),
        "overhead_s": round(wall - cells, 1),
        "overhead_pct": round(100 * (wall - cells) / wall, 2),
        "cells_per_hour": round(len(states) / wall * 3600, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="quick")
    parser.add_argument("--jobs", default="1,2", help="comma-separated job counts to compare")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in [int(j) for j in args.jobs.split(",")]:
            row = run_bench(args.spec, args.overrides, Path(tmp) / f"jobs{jobs}", jobs)
            print(json.dumps(row), flush=True)
    print("overhead is only meaningful for jobs=1 (with jobs>1 cells overlap)")


if __name__ == "__main__":
    main()
