"""`peftctl ui` in a real browser (Playwright driving Debian's chromium): the results table,
the Pareto plot following its axes, a run's loss curve, and a 2-step run launched from the
form that appears in the table. Screenshots of each tab go to the test's temp dir."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.ui.conftest import make_served_folder

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None
    or importlib.util.find_spec("playwright") is None
    or importlib.util.find_spec("gradio") is None,
    reason="needs gradio, playwright and chromium (apt-get install -y chromium)",
)
TIMEOUT_MS = 60_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """`peftctl ui` on a free loopback port over a bench and a plain run; its URL."""
    root = make_served_folder(tmp_path / "runs")
    port = free_port()
    log = (tmp_path / "ui.log").open("w")
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "peftctl", "ui", str(root), "--port", str(port)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "ui.log").read_text()[-2000:]) from None
            time.sleep(0.5)
    yield url, root
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        yield page
        browser.close()


def choose(page, elem_id: str, option: str) -> None:
    """Pick ``option`` in the Gradio dropdown ``elem_id``."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).first.click()


def visible(locator):
    """The first visible match (gradio 6's tables also render each cell in a hidden sizing
    row, which comes first)."""
    return locator.filter(visible=True).first


def shot(page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_results_compare_run_and_launch_in_a_browser(server, page, tmp_path, tiny_model_dir):
    url, root = server
    page.goto(url)
    table = page.locator("#results-table")
    visible(table.get_by_text("bench/quick/lora-sst2-s0", exact=True)).wait_for()
    assert table.get_by_text("my_run").count() >= 1
    assert "5 of 5 rows" in page.locator("#results-status").inner_text()
    page.locator("#filter textarea, #filter input").first.fill("label=ia3")
    page.locator("#filter textarea, #filter input").first.press("Enter")
    page.locator("#results-status").get_by_text("2 of 5 rows").wait_for()
    shot(page, tmp_path, "results")

    page.get_by_role("tab", name="Compare").click()
    front = page.locator("#pareto-front")
    front.get_by_text("Pareto front of test_primary vs trainable_params").first.wait_for()
    choose(page, "y-axis", "pscp")
    front.get_by_text("Pareto front of pscp vs trainable_params").first.wait_for()
    page.locator("#pareto-plot canvas, #pareto-plot svg").first.wait_for()
    page.locator("#verdicts").get_by_text("bench/quick: against the best").first.wait_for()
    page.locator("#p-best canvas, #p-best svg").first.wait_for()
    shot(page, tmp_path, "compare")

    page.get_by_role("tab", name="Run").click()
    choose(page, "run-id", "bench/quick/ia3-sst2-s1")
    page.locator("#run-recipe").get_by_text("ia3").first.wait_for()
    page.locator("#loss-plot canvas, #loss-plot svg").first.wait_for()
    visible(page.locator("#predictions").get_by_text("I think")).wait_for()  # the invalid answer
    page.locator("#run-use").get_by_text("peftctl serve").first.wait_for()
    shot(page, tmp_path, "run")

    page.get_by_role("tab", name="Launch").click()
    page.locator("#launch-name input, #launch-name textarea").first.fill("ui-run")
    page.locator("#launch-model input, #launch-model textarea").first.fill(tiny_model_dir)
    page.locator("#launch-steps input").first.fill("2")
    page.locator("#launch-eval-samples input").first.fill("8")
    page.locator("#launch-train").click()
    page.locator("#launch-message").get_by_text("started").first.wait_for()
    jobs = page.locator("#launch-jobs")
    visible(jobs.get_by_text("finished", exact=False)).wait_for(timeout=180_000)
    shot(page, tmp_path, "launch")
    assert (root / "ui-run" / "metrics.json").is_file()

    page.get_by_role("tab", name="Results").click()
    page.locator("#filter textarea, #filter input").first.fill("")
    page.locator("#filter textarea, #filter input").first.press("Enter")
    visible(page.locator("#results-table").get_by_text("ui-run")).wait_for()
    shot(page, tmp_path, "results-after-launch")
