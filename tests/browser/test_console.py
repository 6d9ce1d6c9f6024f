"""The local console in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

The test starts the real ``foreman local serve``, runs the Orchestrator once with the CLI, then opens the console
as a person would: the executions list, one execution's graph (the path taken and the counts), a state's output, the
per-labourer report and a queue page. It keeps a screenshot in ``test-artifacts/console.png``. Without Chromium the
tests skip and say why (``.ci/run`` installs it, and on CI a missing browser is a failure, never a skip).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from foreman import cli
from foreman.local.stack import PROJECT_ROOT
from tests import serve_process

CHROMIUM = os.environ.get("FOREMAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ARTIFACTS = Path(PROJECT_ROOT) / "test-artifacts"
THUMBNAILS = Path(PROJECT_ROOT) / "examples" / "tasks" / "thumbnails.jsonl"


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: .ci/run installs Chromium, so CI never skips the browser tests")
    pytest.skip(f"browser tests skipped: {reason} (install it: apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from the system (Playwright never downloads a browser here)."""
    if not os.path.isfile(CHROMIUM):
        _missing(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


def test_the_console_shows_an_execution_its_path_a_states_output_and_the_queues(
    browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve_process.served("--no-schedule", stderr=tmp_path / "stderr.log") as running:
        endpoint, console = running.line["endpoint"], running.line["console"]
        assert console.startswith("http://127.0.0.1:")
        argv = ["--endpoint-url", endpoint]
        assert cli.main(["tasks", "create", *argv, "--labourer", "thumbnails", "--file", str(THUMBNAILS)]) == 0
        assert cli.main(["run", *argv]) == 0
        capsys.readouterr()

        page = browser.new_page(viewport={"width": 1500, "height": 1250})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(console)
        row = page.locator("#executions tbody tr").filter(has_text="Orchestrator").first
        row.wait_for(timeout=30_000)
        assert "SUCCEEDED" in row.inner_text()
        row.locator("a").click()

        page.locator("svg#graph").wait_for(timeout=30_000)
        graph = page.locator("svg#graph")
        for state in ("LoadConfig", "ComputeEcology", "FetchGreenfieldTasks", "Claim", "Invoke", "Summarize"):
            box = graph.locator(f'.state[data-state="{state}"]')
            assert "taken" in (box.get_attribute("class") or ""), state
        claims = int(graph.locator('.state[data-state="Claim"]').get_attribute("data-count") or 0)
        assert claims >= 1
        for state in ("ClaimFailed", "Release", "LabourerFailed"):  # the paths not taken
            assert "taken" not in (graph.locator(f'.state[data-state="{state}"]').get_attribute("class") or ""), state
        assert graph.locator('.edge.taken[data-source="Claim"][data-target="Invoke"]').count() == 1
        assert graph.locator('.edge.taken[data-source="Invoke"][data-target="Release"]').count() == 0

        report = page.locator('#report tr[data-labourer="thumbnails"]')
        assert report.count() == 1
        headers = page.locator("#report thead th").all_inner_texts()
        invoked = report.locator("td").nth(headers.index("invoked")).inner_text()
        assert int(invoked) == claims  # every claim was invoked

        graph.locator('.state[data-state="Summarize"]').click()
        output = page.locator('#state-detail[data-state="Summarize"] pre.output').first
        output.wait_for(timeout=10_000)
        assert '"thumbnails": {' in output.inner_text()  # the report maps each labourer to its line
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)

        page.locator("#nav-queues").click()
        queue_row = page.locator('#queues tr[data-labourer="thumbnails"]')
        queue_row.wait_for(timeout=30_000)
        queue_row.locator("a").click()
        page.locator("#queue-counts").wait_for(timeout=30_000)
        assert page.locator("h1").inner_text() == "Queue: thumbnails"
        queued = int(page.locator('#queue-counts [data-count="queued"]').inner_text().split()[-1])
        listed = page.locator("#queued tbody tr").count()
        assert listed == min(queued, 20)
        page.screenshot(path=str(ARTIFACTS / "console-queue.png"), full_page=True)
        assert errors == []  # no script error, no failed request, on any page
