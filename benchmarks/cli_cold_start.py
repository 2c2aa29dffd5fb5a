"""Cold-start time of listing commands against a bare interpreter.

Run: python benchmarks/cli_cold_start.py [--runs 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "peftctl --help": ["peftctl", "--help"],
    "peftctl list-methods": ["peftctl", "list-methods"],
    "peftctl list-datasets --json": ["peftctl", "list-datasets", "--json"],
    "peftctl plugins": ["peftctl", "plugins"],
}


def time_command(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("peftctl") is None:
        sys.exit("peftctl is not on PATH: pip install -r dev-install.txt first")
    baseline = None
    print(f"{'command':32} {'median s':>9} {'min s':>7} {'max s':>7} {'- python':>9}")
    for label, argv in COMMANDS.items():
        times = time_command(argv, args.runs)
        median = statistics.median(times)
        baseline = median if baseline is None else baseline
        print(
            f"{label:32} {median:9.3f} {min(times):7.3f} {max(times):7.3f} {median - baseline:9.3f}"
        )


if __name__ == "__main__":
    main()
