"""The local console in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

One ``foreman local serve`` for the module, with the example labourers and three more: ``ghost`` (its function does
not exist: Lambda refuses the Invoke for good and AttemptFailed catches it), ``flaky`` (raises; one attempt, so the
Scavenger closes its task as dead) and ``shaky`` (raises; three attempts an hour apart, so its task waits for a
retry). The CLI runs the Orchestrator once, the Scavenger once, then the Orchestrator on an invalid config
(LoadConfig fails), and the tests open the console as a person would. Screenshots go to ``test-artifacts/``.
Without Chromium the tests skip and say why (``.ci/run`` installs it, and on CI a missing browser is a failure,
never a skip).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from foreman import cli
from foreman.local.stack import PROJECT_ROOT
from tests import serve_process

CHROMIUM = os.environ.get("FOREMAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ARTIFACTS = Path(PROJECT_ROOT) / "test-artifacts"
EXAMPLES = Path(PROJECT_ROOT) / "examples"
THUMBNAILS = EXAMPLES / "tasks" / "thumbnails.jsonl"
CONFIG_PARAMETER = "/foreman/orchestrator_config"
FAILING_LABOURER = """
def handler(event, context):
    raise ValueError(f"cannot render {event['task_id']}: the template is missing")
"""


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: .ci/run installs Chromium, so CI never skips the browser tests")
    pytest.skip(f"browser tests skipped: {reason} (install it: apt-get install chromium)")


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:g} s: {what}")
        time.sleep(0.2)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


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


@dataclass
class Stack:
    """The served stack and what the module's setup ran on it."""

    endpoint: str
    console: str
    line: dict[str, Any]
    succeeded: str
    """The Orchestrator run that invoked, and caught ghost's failures."""
    failed: str
    """The Orchestrator run whose LoadConfig failed."""
    dead_task: str
    waiting_task: str
    invocations: str = ""
    """The succeeded run's Invocations execution (it claimed and invoked the run's tasks)."""
    ghost_child: str = ""
    """The Invocations execution's child execution (Express) that invoked ghost's tasks."""

    def sfn(self) -> Any:
        return _client("stepfunctions", self.endpoint)

    def url(self, hash_: str) -> str:
        return self.console + hash_

    def execution_url(self, arn: str) -> str:
        return self.url("#/execution/" + quote(arn, safe=""))


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local",
                        aws_secret_access_key="local")  # fmt: skip


def _run_to_end(sfn: Any, machine: str) -> str:
    arn = str(sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"])
    wait_for(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", timeout=60, what=f"{arn} ends")
    return arn


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("console")
    code = folder / "labourer"
    code.mkdir()
    (code / "app.py").write_text(FAILING_LABOURER)
    config = json.loads((EXAMPLES / "config.json").read_text())
    labourers = config["task_config"]["labourers"]
    labourers["ghost"] = {"arn": "ghost", "max_simultaneous_invocations": 2}
    labourers["flaky"] = {"arn": "flaky", "max_simultaneous_invocations": 2, "max_attempts": 1}
    labourers["shaky"] = {"arn": "shaky", "max_simultaneous_invocations": 2, "max_attempts": 3,
                          "retry_delay_seconds": 3600}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    arguments = ["--no-schedule", "--config", str(folder / "config.json"),
                 "--labourer", f"flaky={code}:app.handler", "--labourer", f"shaky={code}:app.handler"]  # fmt: skip
    with serve_process.served(*arguments, stderr=folder / "stderr.log") as running:
        endpoint, console = running.line["endpoint"], running.line["console"]
        argv = ["--endpoint-url", endpoint]
        assert cli.main(["tasks", "create", *argv, "--labourer", "thumbnails", "--file", str(THUMBNAILS)]) == 0
        for labourer in ("ghost", "ghost", "flaky", "shaky"):
            assert cli.main(["tasks", "create", *argv, "--labourer", labourer, "--payload", "{}"]) == 0
        assert cli.main(["run", *argv]) in (0, 1)  # ghost's failed tasks make it exit 1
        machines = running.line["state_machines"]
        sfn = _client("stepfunctions", endpoint)
        succeeded = sfn.list_executions(stateMachineArn=machines["Orchestrator"])["executions"][0]["executionArn"]
        invocations, ghost_child = _handed_over(sfn, succeeded)
        for labourer in ("flaky", "shaky"):  # the OnFailure destination marks each task failed
            wait_for(lambda labourer=labourer: get_json(console + f"api/queues/{labourer}")["tasks"]["failed"],
                     timeout=30, what=f"{labourer}'s task is failed")  # fmt: skip
        dead = get_json(console + "api/queues/flaky")["tasks"]["failed"][0]["task_id"]
        waiting = get_json(console + "api/queues/shaky")["tasks"]["failed"][0]["task_id"]
        yield_before_scavenger = Stack(endpoint, console, running.line, succeeded, "", dead, waiting)
        _failed_task_checks(yield_before_scavenger)
        _run_to_end(sfn, machines["Scavenger"])
        ssm = _client("ssm", endpoint)
        good = ssm.get_parameter(Name=CONFIG_PARAMETER)["Parameter"]["Value"]
        invalid = {"task_config": {"labourers": {"x": {"max_simultaneous_invocations": "lots"}}}}
        ssm.put_parameter(Name=CONFIG_PARAMETER, Value=json.dumps(invalid), Overwrite=True, Type="String")
        failed = _run_to_end(sfn, machines["Orchestrator"])
        ssm.put_parameter(Name=CONFIG_PARAMETER, Value=good, Overwrite=True, Type="String")
        yield Stack(endpoint, console, running.line, succeeded, failed, dead, waiting, invocations, ghost_child)


def _handed_over(sfn: Any, orchestrator: str) -> tuple[str, str]:
    """The run's Invocations execution (the Orchestrator's output names it) and its child that invoked ghost's tasks
    (each child's input names its labourer)."""
    invocations = json.loads(sfn.describe_execution(executionArn=orchestrator)["output"])["invocations"]
    wait_for(lambda: sfn.describe_execution(executionArn=invocations)["status"] != "RUNNING", timeout=60,
             what="the Invocations execution ends")  # fmt: skip
    (map_run,) = sfn.list_map_runs(executionArn=invocations)["mapRuns"]
    children = sfn.list_executions(mapRunArn=map_run["mapRunArn"])["executions"]
    inputs = {child["executionArn"]: sfn.describe_execution(executionArn=child["executionArn"])["input"]
              for child in children}  # fmt: skip
    (ghost,) = [arn for arn, text in inputs.items() if json.loads(text)["labourer_id"] == "ghost"]
    return str(invocations), ghost


FAILED_TASK_CHECKS: dict[str, Any] = {}


def _failed_task_checks(stack: Stack) -> None:
    """Before the Scavenger moves them: what ``foreman status`` and the API say of the failed tasks (checked in
    ``test_a_failed_task_is_failed_not_running_in_status_the_queues_table_and_the_queue_page``)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["status", "--endpoint-url", stack.endpoint, "--labourer", "flaky"])
    FAILED_TASK_CHECKS["status"] = (code, out.getvalue())
    FAILED_TASK_CHECKS["queues"] = get_json(stack.console + "api/queues")
    FAILED_TASK_CHECKS["queue"] = get_json(stack.console + "api/queues/flaky")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A new page that fails the test on any script error or failed request."""
    opened = browser.new_page(viewport={"width": 1500, "height": 1250})
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    opened.errors = errors
    yield opened
    opened.close()


def screenshot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Into ``test-artifacts/``; ``docs-*.png`` are what ``docs/images`` holds (the top of the page)."""
    ARTIFACTS.mkdir(exist_ok=True)
    if full_page:
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    else:  # the report and the whole graph, down to Summarize
        page.screenshot(
            path=str(ARTIFACTS / name), full_page=True, clip={"x": 0, "y": 0, "width": 1500, "height": 1720}
        )


# -- one successful execution --------------------------------------------------------------------------------------


def test_the_console_shows_an_execution_its_path_a_states_output_and_the_queues(stack: Stack, page: Any) -> None:
    page.goto(stack.console)
    row = page.locator(f'#executions tbody tr[data-arn="{stack.succeeded}"]')
    row.wait_for(timeout=30_000)
    assert "SUCCEEDED" in row.inner_text()
    assert "invoked 6" in row.locator("td.did").inner_text()  # what the run did: thumbnails 4, flaky, shaky
    assert "failed 2" in row.locator("td.did").inner_text()
    handed = row.locator("td.did a.handed-to")  # what its Invocations execution reported, and a link to it
    assert handed.get_attribute("href") == "#/execution/" + quote(stack.invocations, safe="")
    row.locator("td a").first.click()

    page.locator("svg#graph").wait_for(timeout=30_000)
    graph = page.locator("svg#graph")
    path = ("LoadConfig", "ComputeEcology", "FetchGreenfieldTasks", "AnyInvocations", "StartInvocations",
            "InvocationsStarted")  # fmt: skip
    for state in path:
        box = graph.locator(f'.state[data-state="{state}"]')
        assert "taken" in (box.get_attribute("class") or ""), state
    for state in ("Summarize", "ReturnLeaseAfterFailure", "RunFailed"):  # the paths not taken
        assert "taken" not in (graph.locator(f'.state[data-state="{state}"]').get_attribute("class") or ""), state
    assert graph.locator('.edge.taken[data-source="StartInvocations"][data-target="InvocationsStarted"]').count() == 1

    # the run handed its tasks over: its report is its Invocations execution's output
    carried = page.locator("#carried-on-by a")
    assert carried.get_attribute("href") == "#/execution/" + quote(stack.invocations, safe="")
    assert "SUCCEEDED" in page.locator("#carried-on-by").inner_text()
    assert page.locator("#report-source a").get_attribute("href") == carried.get_attribute("href")
    report = page.locator('#report tr[data-labourer="thumbnails"]')
    assert report.count() == 1
    headers = page.locator("#report thead th").all_inner_texts()
    assert int(report.locator("td").nth(headers.index("invoked")).inner_text()) == 4
    assert report.locator('td[data-key="status"]').inner_text() == "4 High"  # the status with its name

    graph.locator('.state[data-state="InvocationsStarted"]').click()
    output = page.locator('#state-detail[data-state="InvocationsStarted"] pre.output').first
    output.wait_for(timeout=10_000)
    assert json.loads(output.inner_text())["invocations"] == stack.invocations
    assert page.locator("#execution-input").inner_text() == "{}"
    screenshot(page, "console.png")
    screenshot(page, "docs-console.png", full_page=False)

    page.locator("#nav-queues").click()
    queue_row = page.locator('#queues tr[data-labourer="thumbnails"]')
    queue_row.wait_for(timeout=30_000)
    queue_row.locator("a").click()
    page.locator("#queue-counts").wait_for(timeout=30_000)
    assert page.locator("h1").inner_text() == "Queue: thumbnails"
    queued = int(page.locator('#queue-counts [data-count="queued"]').inner_text().split()[-1])
    assert page.locator("#queued tbody tr").count() == min(queued, 20)
    screenshot(page, "console-queue.png")
    assert page.errors == []  # no script error, no failed request, on any page


# -- the run's Invocations execution, its Map Run and a child -----------------------------------------------------


def test_the_invocations_execution_links_back_and_its_map_run_opens_a_child_with_its_states(
    stack: Stack, page: Any
) -> None:
    page.goto(stack.execution_url(stack.succeeded))
    page.locator("#carried-on-by a").click()
    page.locator("#started-by").wait_for(timeout=30_000)
    assert page.locator("h1").inner_text().startswith("Invocations: run-")
    assert page.locator("#started-by a").get_attribute("href") == "#/execution/" + quote(stack.succeeded, safe="")
    graph = page.locator("svg#graph")
    for state in ("InvokeLabourers", "Summarize"):
        assert graph.locator(f'.state[data-state="{state}"]').get_attribute("data-status") == "succeeded", state
    assert "container" in (graph.locator('.state[data-state="InvokeLabourers"]').get_attribute("class") or "")
    assert graph.locator('.state[data-state="Claim"]').count() == 1  # the children's states, drawn inside the Map
    assert page.locator('#report tr[data-labourer="ghost"]').count() == 1  # its output is the run's report

    children = page.locator("#map-runs .map-run-children tbody tr")
    assert children.count() == 4  # one group each: thumbnails, ghost, flaky, shaky
    assert set(children.evaluate_all("rows => rows.map(r => r.dataset.status)")) == {"SUCCEEDED"}
    screenshot(page, "console-invocations.png")
    page.locator(f'#map-runs tr[data-arn="{stack.ghost_child}"] a').click()

    page.locator("#parent-execution").wait_for(timeout=30_000)
    assert page.locator("#parent-execution a").get_attribute("href") == "#/execution/" + quote(
        stack.invocations, safe=""
    )
    child = page.locator("svg#graph")
    assert child.locator('.state[data-state="InvokeLabourers"]').count() == 0  # the child runs the Map's processor
    assert child.locator('.state[data-state="InvokeTasks"]').get_attribute("data-status") == "succeeded"
    assert child.locator('.state[data-state="Claim"]').get_attribute("data-count") == "2"  # ghost's two tasks
    assert json.loads(page.locator("#execution-input").inner_text())["labourer_id"] == "ghost"
    assert json.loads(page.locator("#execution-output").inner_text())["labourer_id"] == "ghost"
    assert page.locator("#events tbody tr").first.get_attribute("data-type") == "ExecutionStarted"
    screenshot(page, "console-child.png")
    assert page.errors == []


# -- item 1 and 2: the path after a Choice, failures -----------------------------------------------------------------


def test_after_the_choice_one_path_enters_summarize_and_a_caught_error_marks_invoke(stack: Stack, page: Any) -> None:
    page.goto(stack.execution_url(stack.succeeded))
    graph = page.locator("svg#graph")
    graph.wait_for(timeout=30_000)
    assert graph.locator('.edge.taken[data-source="AnyInvocations"][data-target="StartInvocations"]').count() == 1
    assert graph.locator('.edge.taken[data-source="AnyInvocations"][data-target="Summarize"]').count() == 0

    page.goto(stack.execution_url(stack.ghost_child))  # the child that invoked ghost's tasks
    page.locator("#parent-execution").wait_for(timeout=30_000)

    into_claim = graph.locator('.edge.taken[data-target="Claim"]')
    assert into_claim.count() == 1  # the ClaimWindow choice took one branch, its default, for every task
    assert into_claim.get_attribute("data-source") == "ClaimWindow"
    assert graph.locator('.edge.taken[data-source="ClaimWindow"][data-target="Late"]').count() == 0
    assert graph.locator('.edge.taken[data-source="ClaimWindow"][data-target="Redriven"]').count() == 0
    invoke = graph.locator('.state[data-state="Invoke"]')
    assert invoke.get_attribute("data-status") == "caught"
    assert "2 caught" in (invoke.text_content() or "")  # the ghost's function does not exist: refused for good
    assert graph.locator('.edge.taken.catch[data-source="Invoke"][data-target="AttemptFailed"]').count() == 1
    assert graph.locator('.state[data-state="AttemptFailed"]').get_attribute("data-status") == "succeeded"

    problems = page.locator('#problems-table tr[data-state="Invoke"][data-status="caught"]')
    assert problems.count() == 2
    assert "Lambda.ResourceNotFoundException" in problems.first.inner_text()
    assert "InvokeTasks #" in problems.first.inner_text()  # where: the task's iteration
    page.goto(stack.execution_url(stack.invocations))
    report = page.locator('#report tr[data-labourer="ghost"]')
    report.wait_for(timeout=30_000)
    assert report.locator('td[data-key="errors"]').inner_text() == "Lambda.ResourceNotFoundException x2"
    assert report.locator("a").get_attribute("href") == "#/queue/ghost"  # each labourer links to its queue
    assert page.errors == []


def test_a_failed_execution_shows_the_failed_state_in_red_with_its_error_readable(stack: Stack, page: Any) -> None:
    page.goto(stack.execution_url(stack.failed))
    page.locator("svg#graph").wait_for(timeout=30_000)

    assert page.locator("#execution-status").inner_text() == "FAILED"
    load_config = page.locator('svg#graph .state[data-state="LoadConfig"]')
    assert load_config.get_attribute("data-status") == "failed"
    assert "failed" in (load_config.get_attribute("class") or "")
    fill = load_config.locator("rect").first.evaluate("rect => getComputedStyle(rect).stroke")
    assert fill == "rgb(211, 47, 47)"  # red
    error = page.locator("#execution-error")
    assert error.locator(".error-name").inner_text() == "ConfigError"
    message = error.locator(".error-message").inner_text()
    assert message.splitlines() == [  # real line breaks, not \n
        "invalid orchestrator config (2 problem(s)):",
        "  - task_config.labourers.x.arn: missing required key 'arn'",
        "  - task_config.labourers.x.max_simultaneous_invocations: expected a non-negative integer, got string 'lots'",
    ]
    traceback = error.locator(".traceback").inner_text()
    assert traceback.startswith("Traceback (most recent call last):\n  File ")
    assert "\\n" not in traceback
    assert traceback.rstrip().endswith("got string 'lots'")
    assert "has no output" in page.locator("#execution-output").inner_text()

    load_config.click()
    detail = page.locator('#state-detail[data-state="LoadConfig"]')
    assert detail.locator(".visit.failed .error-name").inner_text() == "ConfigError"
    assert detail.locator("pre.output").inner_text() == "(none: the state failed)"
    screenshot(page, "console-failed.png")
    screenshot(page, "docs-console-failed.png", full_page=False)
    assert page.errors == []


# -- item 4: the event history and the input ------------------------------------------------------------------------


def test_the_event_history_lists_execution_started_to_the_end(stack: Stack, page: Any) -> None:
    page.goto(stack.execution_url(stack.succeeded))
    rows = page.locator("#events tbody tr")
    rows.first.wait_for(timeout=30_000)
    while page.locator("#events-more").is_visible():
        count = rows.count()
        page.locator("#events-more").click()
        wait_for(lambda count=count: rows.count() > count, timeout=10, what="more events")

    history = stack.sfn().get_execution_history(executionArn=stack.succeeded, maxResults=1000)["events"]
    assert rows.count() == len(history)
    assert rows.first.get_attribute("data-type") == "ExecutionStarted"
    assert rows.last.get_attribute("data-type") == "ExecutionSucceeded"
    assert [int(row) for row in rows.evaluate_all("rows => rows.map(r => r.dataset.id)")] == list(
        range(1, len(history) + 1)
    )
    assert page.locator('#events tr[data-type="TaskSucceeded"]').count() == 4  # the Orchestrator's own Lambda steps
    cells = rows.nth(1).locator("td").all_inner_texts()  # id, type, state, time, elapsed, details
    assert cells[:3] == ["2", "TaskStateEntered", "LoadConfig"]
    assert cells[4].endswith(" ms")
    assert page.locator("#events-count").inner_text() == f"{len(history)} of {len(history)} events"

    page.goto(stack.execution_url(stack.ghost_child))  # an Express child's history, as its log holds it on AWS
    failed = page.locator('#events tr[data-type="TaskFailed"]').first
    failed.wait_for(timeout=30_000)
    assert "Lambda.ResourceNotFoundException" in failed.inner_text()
    assert page.locator("#events tbody tr").last.get_attribute("data-type") == "ExecutionSucceeded"
    assert page.errors == []


# -- item 5: Map iterations -----------------------------------------------------------------------------------------


def test_a_map_iteration_opens_one_labourer_then_one_task_with_each_states_input_and_output(
    stack: Stack, page: Any
) -> None:
    page.goto(stack.execution_url(stack.ghost_child))  # each labourer's tasks are a child execution's
    tasks = page.locator('select.iteration-select[data-map="InvokeTasks"]')
    tasks.wait_for(timeout=30_000)
    assert tasks.locator("option").count() == 3  # "pick one" and ghost's two tasks
    task_id = tasks.locator("option").nth(1).get_attribute("data-label")
    tasks.select_option(index=1)

    scope = page.locator('.scope[data-depth="1"]')
    scope.wait_for(timeout=10_000)
    assert task_id in scope.locator("h3").inner_text()
    states = scope.locator("tbody tr").evaluate_all("rows => rows.map(r => [r.dataset.state, r.dataset.status])")
    assert states == [["ClaimWindow", "succeeded"], ["Claim", "succeeded"], ["Invoke", "caught"],
                      ["AttemptFailed", "succeeded"], ["Failed", "succeeded"]]  # fmt: skip
    claim_input = json.loads(scope.locator('tr[data-state="Claim"] pre.input').text_content() or "")
    assert claim_input["task_id"] == task_id  # this task's own input, not another iteration's
    invoke = scope.locator('tr[data-state="Invoke"]')
    assert invoke.locator(".error-name").inner_text() == "Lambda.ResourceNotFoundException"
    failed = json.loads(scope.locator('tr[data-state="Failed"] pre.output').text_content() or "")
    assert (failed["task_id"], failed["outcome"]) == (task_id, "attempt_failed")
    assert page.locator("#map-runs").count() == 0  # no Distributed Map in a child: no Map Runs section
    screenshot(page, "console-iteration.png")
    assert page.errors == []


# -- item 3: failed tasks are not running -------------------------------------------------------------------------


def test_a_failed_task_is_failed_not_running_in_status_the_queues_table_and_the_queue_page(stack: Stack) -> None:
    code, out = FAILED_TASK_CHECKS["status"]
    assert code == 0
    header, row = out.splitlines()[1:3]
    assert dict(zip(header.split(), row.split(), strict=False))["running"] == "0"
    assert dict(zip(header.split(), row.split(), strict=False))["failed"] == "1"
    (line,) = [line for line in FAILED_TASK_CHECKS["queues"]["labourers"] if line["labourer_id"] == "flaky"]
    assert (line["running"], line["failed"]) == (0, 1)
    queue = FAILED_TASK_CHECKS["queue"]
    assert (queue["labourer"]["running"], queue["labourer"]["failed"]) == (0, 1)
    assert queue["tasks"]["running"] == []
    assert [task["result_error_type"] for task in queue["tasks"]["failed"]] == ["ValueError"]


# -- item 9: every task can be found ------------------------------------------------------------------------------


def test_a_dead_task_and_a_retry_waiting_task_are_found_by_id(stack: Stack, page: Any) -> None:
    page.goto(stack.console)
    page.locator("#task-search-id").fill(stack.dead_task)
    page.locator("#task-search button").click()
    where = page.locator("#task-where")
    where.wait_for(timeout=30_000)
    assert where.get_attribute("data-where") == "closed_dead"
    why = page.locator("#task-why").inner_text()
    assert "closed as dead" in why
    assert "1 attempt(s)" in why
    assert "ValueError: cannot render" in why  # its last error
    screenshot(page, "console-task.png")

    page.locator("#task-search-id").fill(stack.waiting_task)
    page.locator("#task-search button").click()
    page.locator('#task-where[data-where="retry_waiting"]').wait_for(timeout=30_000)
    assert "queued again at " in page.locator("#task-why").inner_text()

    page.goto(stack.url("#/queue/flaky"))
    dead = page.locator(f'#closed-dead tr[data-task="{stack.dead_task}"]')
    dead.wait_for(timeout=30_000)
    assert "ValueError" in dead.inner_text()
    page.goto(stack.url("#/queue/shaky"))
    waiting = page.locator(f'#retry-waiting tr[data-task="{stack.waiting_task}"]')
    waiting.wait_for(timeout=30_000)
    waiting.locator("a").click()
    page.locator('#task-where[data-where="retry_waiting"]').wait_for(timeout=30_000)
    assert page.errors == []


# -- item 8: the list pages and filters ---------------------------------------------------------------------------


def test_the_list_says_how_many_pages_past_100_and_filters(stack: Stack, page: Any) -> None:
    sfn = stack.sfn()
    scavenger = stack.line["state_machines"]["Scavenger"]
    started = [sfn.start_execution(stateMachineArn=scavenger, input="{}")["executionArn"] for _ in range(105)]
    wait_for(lambda: all(sfn.describe_execution(executionArn=arn)["status"] != "RUNNING" for arn in started[-5:]),
             timeout=120, what="the Scavenger runs end")  # fmt: skip
    total = sum(len(sfn.list_executions(stateMachineArn=arn, maxResults=1000)["executions"])
                for arn in stack.line["state_machines"].values())  # fmt: skip
    assert total > 100

    page.goto(stack.console)
    count = page.locator("#executions-count")
    count.wait_for(timeout=30_000)
    wait_for(lambda: count.inner_text().startswith(f"{total} executions"), timeout=30, what=count.inner_text())
    seen: set[str] = set()
    while True:
        arns = page.locator("#executions tbody tr").evaluate_all("rows => rows.map(r => r.dataset.arn)")
        assert arns
        assert not seen & set(arns)  # no execution on two pages
        seen |= set(arns)
        if page.locator("#page-next").is_disabled():
            break
        first = arns[0]
        page.locator("#page-next").click()
        wait_for(lambda first=first: page.locator("#executions tbody tr").first.get_attribute("data-arn") != first,
                 timeout=10, what="the next page")  # fmt: skip
    assert len(seen) == total

    page.locator("#filter-status").select_option("FAILED")
    page.wait_for_function("document.querySelectorAll('#executions tbody tr').length === 1", timeout=10_000)
    assert page.locator("#executions tbody tr").first.get_attribute("data-arn") == stack.failed
    assert "ConfigError" in page.locator("#executions tbody tr").first.inner_text()
    page.locator("#filter-status").select_option("")
    wait_for(lambda: count.inner_text().startswith(f"{total} executions"), timeout=10, what=count.inner_text())
    page.locator("#filter-state-machine").select_option("Orchestrator")
    page.wait_for_function(
        "[...document.querySelectorAll('#executions tbody tr')].every(r => r.cells[0].textContent === 'Orchestrator')",
        timeout=10_000,
    )
    assert page.locator("#executions-count").inner_text().startswith("2 executions")
    assert page.errors == []


# -- item 10 and 7: not found, no sideways scrolling, the graph fits ----------------------------------------------


def test_a_bad_execution_arn_is_a_404_and_an_unknown_route_says_not_found(stack: Stack, page: Any) -> None:
    for path in ("api/execution?arn=arn:bad", "api/execution?arn=" + quote(stack.succeeded + "-nope", safe=""),
                 "api/nothing", "nothing-here"):  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(stack.console + path, timeout=30)
        assert refused.value.code == 404, path

    page.goto(stack.url("#/no-such-view"))
    page.locator("#not-found").wait_for(timeout=10_000)
    page.goto(stack.url("#/execution/" + quote("arn:bad", safe="")))
    page.locator("#not-found").wait_for(timeout=10_000)
    assert page.locator("#executions").count() == 0  # not the executions page


def test_at_800_pixels_wide_no_page_scrolls_sideways(stack: Stack, page: Any) -> None:
    page.set_viewport_size({"width": 800, "height": 900})
    views = {
        "executions": ("#/", "#executions tbody tr"),
        "succeeded": (stack.execution_url(stack.succeeded).removeprefix(stack.console), "#events tbody tr"),
        "failed": (stack.execution_url(stack.failed).removeprefix(stack.console), "#events tbody tr"),
        "queues": ("#/queues", "#queues tbody tr"),
        "queue": ("#/queue/shaky", "#queue-counts"),
        "task": ("#/task/" + stack.dead_task, "#task-where"),
    }
    for name, (hash_, ready) in views.items():
        page.goto(stack.url(hash_))
        page.locator(ready).first.wait_for(timeout=30_000)
        if name == "failed":  # the failed state's panel, its traceback included
            page.locator("svg#graph .state").first.click()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 800, (name, width)
    screenshot(page, "console-800.png")
    assert page.errors == []


def test_the_graph_fits_its_panel_and_zooms(stack: Stack, page: Any) -> None:
    page.set_viewport_size({"width": 1000, "height": 900})
    page.goto(stack.execution_url(stack.succeeded))
    graph = page.locator("svg#graph")
    graph.wait_for(timeout=30_000)
    panel = page.locator(".graph")

    def widths() -> tuple[float, float, float]:
        svg_box, panel_box = graph.bounding_box(), panel.bounding_box()
        assert svg_box is not None
        assert panel_box is not None
        return svg_box["width"], panel_box["width"], float(graph.get_attribute("data-width") or 0)

    fitted, room, natural = widths()
    assert fitted <= room + 1  # the whole graph in its panel: nothing clipped
    assert page.evaluate("document.querySelector('.graph').scrollWidth <= document.querySelector('.graph').clientWidth")
    page.locator("#zoom-actual").click()
    assert abs(widths()[0] - natural) < 2
    page.locator("#zoom-in").click()
    assert widths()[0] > natural * 1.2
    page.locator("#zoom-fit").click()
    assert widths()[0] <= widths()[1] + 1
    assert page.errors == []
