"""How long `peftctl ui` takes to show a bench of N cells: the data layer alone, and a real
browser (Debian chromium via Playwright) from navigation to the last row in the table.

The bench is synthetic (result records as `peftctl bench` writes them, with loss logs and
predictions), so the figure is the page's, not training's. Run alone on a quiet machine:
    python benchmarks/ui_load.py [--cells 50]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.ui.conftest import cell_result, write_run_files  # noqa: E402


def make_bench(root: Path, cells: int) -> Path:
    bench = root / "bench" / "big"
    identities = []
    for i in range(cells):
        label, seed = f"method{i % 10}", i // 10
        name = f"{label}-sst2-s{seed}"
        run_dir = bench / "cells" / name
        write_run_files(run_dir, label, 0.5 + i / (2 * cells))
        result = cell_result(name, label, seed, 0.5 + i / (2 * cells), 100 * (i + 1), run_dir)
        (run_dir / "result.json").write_text(json.dumps(result))
        identity = {k: result[k] for k in ("id", "name", "label", "method", "dataset", "seed")}
        identity.update(lr=1e-3, lr_swept=False)
        (bench / "state").mkdir(parents=True, exist_ok=True)
        state = {**identity, "status": "finished"}
        (bench / "state" / f"{name}.json").write_text(json.dumps(state))
        identities.append(identity)
    (bench / "bench.json").write_text(json.dumps({"source": "big", "cells": identities}))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=50)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from peftctl.ui import data

    with tempfile.TemporaryDirectory() as tmp:
        root = make_bench(Path(tmp) / "runs", args.cells)
        started = time.perf_counter()
        rows = data.table_rows(data.load_records([root]))
        print(f"data layer: {len(rows)} rows in {time.perf_counter() - started:.3f} s")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        server = subprocess.Popen(
            [sys.executable, "-m", "peftctl", "ui", str(root), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            started = time.perf_counter()
            while True:
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    time.sleep(0.2)
            print(f"server start to first response: {time.perf_counter() - started:.1f} s")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=shutil.which("chromium"), args=["--no-sandbox"]
                )
                page = browser.new_page()
                started = time.perf_counter()
                page.goto(url)
                status = page.locator("#results-status")
                status.get_by_text(f"{args.cells} of {args.cells} rows").wait_for(timeout=60_000)
                print(f"page load to a filled table: {time.perf_counter() - started:.2f} s")
                browser.close()
        finally:
            server.terminate()


if __name__ == "__main__":
    main()
