"""`peftctl ui` in a real browser (Playwright driving Debian's chromium), served a bench
directory first and its parent folder second, as docs/ui.md shows: sorting by a header click,
picking columns, Compare coloured by method with CI bars, two runs' loss curves overlaid, a
bad model refused before launch, a run launched from the form appearing in the table, a job
stopped; no request leaves 127.0.0.1 and no temp folder is left behind. Screenshots of each
tab go to the test's temp dir."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
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
LOOPBACK = "http://127.0.0.1:"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """`peftctl ui BENCH FOLDER` on a free loopback port, its temp files in a folder of its
    own; yields (URL, served folder, temp folder) and checks the temp folder afterwards."""
    root = make_served_folder(tmp_path / "runs")
    temp = tmp_path / "tmp"
    temp.mkdir()
    port = free_port()
    log = (tmp_path / "ui.log").open("w")
    env = {**os.environ, "TMPDIR": str(temp), "GRADIO_TEMP_DIR": str(temp / "gradio")}
    bench = root / "bench" / "quick"
    command = [sys.executable, "-m", "peftctl", "ui", str(bench), str(root), "--port", str(port)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"{LOOPBACK}{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "ui.log").read_text()[-2000:]) from None
            time.sleep(0.5)
    yield url, root, temp
    process.terminate()
    assert process.wait(timeout=30) == 0, (tmp_path / "ui.log").read_text()[-2000:]
    assert not list(temp.glob("peftctl-ui-*")), "the page left its temp folder behind"


@pytest.fixture
def page(tmp_path):
    """A chromium page whose every request is checked: anything not for 127.0.0.1 is
    aborted and remembered in ``page.outside``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.outside = []
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))

        def guard(route):
            url = route.request.url
            if url.startswith((LOOPBACK, "data:", "blob:")):
                route.continue_()
            else:
                page.outside.append(url)
                route.abort()

        page.route("**/*", guard)
        yield page
        browser.close()


def choose(page, elem_id: str, option: str) -> None:
    """Pick ``option`` in the Gradio dropdown ``elem_id``."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).first.click()


def fill(page, elem_id: str, text: str) -> None:
    page.locator(f"#{elem_id} input, #{elem_id} textarea").first.fill(text)


def type_into(page, elem_id: str, text: str) -> None:
    """Type as a user does (key by key: the filter follows each keystroke)."""
    box = page.locator(f"#{elem_id} input, #{elem_id} textarea").first
    box.click()
    box.press("Control+a")
    box.press("Backspace")
    box.press_sequentially(text, delay=20)


def first_column(page) -> list[str]:
    return page.locator("#results-table tbody tr td:first-child").all_inner_texts()


def shot(page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_api_misuse_answers_without_a_traceback(server):
    import json

    url, _, _ = server
    for path, body in (
        ("gradio_api/queue/join", {"data": [], "fn_index": 999, "session_hash": "x"}),
        ("gradio_api/run/predict", {"data": [], "fn_index": 999, "session_hash": "x"}),
        ("gradio_api/queue/join", {"data": "not a list", "fn_index": 0, "session_hash": "x"}),
    ):
        request = urllib.request.Request(
            url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        try:
            answer = urllib.request.urlopen(request, timeout=10).read().decode()
        except urllib.error.HTTPError as error:
            answer = error.read().decode()
        assert "Traceback" not in answer and 'File "' not in answer, answer


def test_the_page_in_a_browser(server, page, tmp_path, tiny_model_dir):
    url, root, _ = server
    page.goto(url)
    table = page.locator("#results-table table.peftctl-table")
    table.get_by_text("quick/ia3-sst2-s1", exact=True).wait_for()
    assert len(first_column(page)) == 5  # the bench served twice is listed once
    assert "null" not in table.inner_text() and "None" not in table.inner_text()

    # sort by clicking a header: scores high to low, a second click low to high
    header = table.locator('th[data-col="test_primary"]')
    header.click()
    page.locator('th[data-col="test_primary"][data-dir="desc"]').wait_for()
    assert first_column(page)[0] == "quick/lora-sst2-s1"  # 0.9
    header.click()
    page.locator('th[data-col="test_primary"][data-dir="asc"]').wait_for()
    assert first_column(page)[0] == "my_run"  # 0.6

    # pick columns: error shown (empty: a dash), seed hidden
    page.get_by_text("Columns", exact=True).click()
    picker = page.locator("#column-picker")
    picker.get_by_label("error", exact=True).check()
    picker.get_by_label("seed", exact=True).uncheck()
    table.locator('th[data-col="error"]').wait_for()
    table.locator('th[data-col="seed"]').wait_for(state="detached")
    assert table.locator("td", has_text="—").count() == 5

    # filters apply as you type
    type_into(page, "filter", "label=ia3")
    page.locator("#results-status").get_by_text("2 of 5 rows").wait_for()
    shot(page, tmp_path, "results")
    type_into(page, "filter", "")
    page.locator("#results-status").get_by_text("5 of 5 rows").wait_for()

    # Compare: one colour per method, CI bars, the front per bench
    page.get_by_role("tab", name="Compare").click()
    plot = page.locator("#pareto-plot svg.marks").first
    plot.wait_for()
    for text in ("method", "ia3", "lora", "on the Pareto front"):
        plot.get_by_text(text, exact=True).first.wait_for()
    assert page.locator(
        "#pareto-plot svg.marks .mark-rule path, #pareto-plot svg.marks .mark-rule line"
    ).count()
    page.locator("#pareto-front").get_by_text("within each bench").first.wait_for()
    page.locator("#verdicts").get_by_text("quick: against the best").first.wait_for()
    shot(page, tmp_path, "compare")
    fill(page, "compare-filter", "label=nothing")  # no points: an empty plot, no page error
    page.locator("#pareto-front").get_by_text("no points").first.wait_for()
    fill(page, "compare-filter", "")

    # Run: two runs' loss curves overlaid, one colour each, eval points marked
    page.get_by_role("tab", name="Run").click()
    choose(page, "run-id", "quick/ia3-sst2-s1")
    curves = page.locator("#loss-plot svg.marks").first
    for run in ("quick/lora-sst2-s0", "quick/ia3-sst2-s1"):
        curves.get_by_text(run, exact=True).first.wait_for()
    page.keyboard.press("Escape")  # close the dropdown
    page.locator("#run-recipe").get_by_text("lora").first.wait_for()
    page.locator("#predictions").get_by_text("I think").filter(visible=True).first.wait_for()
    shot(page, tmp_path, "run")

    # a click on a Compare point is a link to ?run=<id>: that run opens on the Run tab
    page.goto(f"{url}?run=quick/ia3-sst2-s0")
    page.locator("#run-detail").get_by_text("quick/ia3-sst2-s0").first.wait_for()

    # Launch: a bad model is refused before anything starts
    page.get_by_role("tab", name="Launch").click()
    page.get_by_text(f"New runs and benches go to {root}").first.wait_for()
    fill(page, "launch-name", "ui-run")
    fill(page, "launch-model", "/etc")
    page.locator("#launch-train").click()
    message = page.locator("#launch-message")
    message.get_by_text("model.name=/etc: this directory holds no config.json").wait_for()
    assert not (root / "ui-run").exists()

    # a 2-step run on the tiny model: finishes and appears in the table (beside the bench)
    fill(page, "launch-model", tiny_model_dir)
    fill(page, "launch-steps", "2")
    fill(page, "launch-eval-samples", "8")
    page.locator("#launch-check").click()
    page.locator("#launch-preview").get_by_text("max_steps: 2").first.wait_for()
    page.locator("#launch-train").click()
    message.get_by_text("started ui-run").wait_for()
    jobs = page.locator("#launch-jobs")
    jobs.get_by_text("finished", exact=True).wait_for(timeout=180_000)
    assert (root / "ui-run" / "metrics.json").is_file()

    # a long one, stopped from the page
    fill(page, "launch-name", "ui-long")
    fill(page, "launch-steps", "100000")
    page.locator("#launch-train").click()
    message.get_by_text("started ui-long").wait_for()
    live = page.locator("#job-loss svg.marks").first
    live.get_by_text("ui-long", exact=True).wait_for(timeout=120_000)  # its live loss curve
    page.locator("#stop-job").click()
    row = jobs.locator("tr", has_text="ui-long")
    row.get_by_text("stopped", exact=True).wait_for()
    seconds = row.locator("td").nth(4).inner_text()
    page.wait_for_timeout(2500)
    assert row.locator("td").nth(4).inner_text() == seconds  # a final duration
    shot(page, tmp_path, "launch")

    page.get_by_role("tab", name="Results").click()
    table.get_by_text("ui-run", exact=True).wait_for()
    shot(page, tmp_path, "results-after-launch")
    assert page.outside == [], f"requests left 127.0.0.1: {page.outside}"
    assert page.errors == [], page.errors
