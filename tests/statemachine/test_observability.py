"""Observability end to end: the real Orchestrator on the embedded stack prints the metrics of its outcome, every log
line of its Lambda steps names the execution, and what one run costs in AWS calls (docs/operations.md, cost model)."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from aws_lambda_powertools import Logger
from botocore.client import BaseClient

from foreman.local.stack import EmbeddedStack, ExecutionFailedError
from foreman_core.config import Tables
from foreman_core.task_store import TaskStore
from tests.emf import Blob, emf_blobs, log_lines
from tests.statemachine.conftest import LABOURER_ARNS, FakeLabourer, cpu_metric, labourer_config, scavenged, seed_cpu

NAMESPACE = "ForemanObservability"
STEPS = ("LoadConfig", "ComputeEcology", "FetchGreenfieldTasks", "Summarize")


@pytest.fixture
def stack() -> Iterator[EmbeddedStack]:
    """The embedded stack at log level INFO, with its own metrics namespace (both template parameters)."""
    parameters = {"LabourerArns": LABOURER_ARNS, "LogLevel": "INFO", "MetricsNamespace": NAMESPACE}
    with EmbeddedStack(parameters=parameters) as embedded:
        yield embedded


@pytest.fixture
def step_logs() -> Iterator[io.StringIO]:
    """What the steps' Powertools logger (service ``foreman``) writes, at INFO.

    Powertools sets up a service's logger once per process, on the first ``Logger()``: its stream (the
    ``sys.stdout`` of that moment) and level stay. The test points that one handler at a buffer, and restores it.
    """
    Logger(service="foreman")  # make sure the service's logger and handler exist before the handlers load
    python_logger = logging.getLogger("foreman")
    handler = python_logger.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous_stream, previous_level = handler.stream, python_logger.level
    handler.stream = buffer  # not setStream: it flushes the old stream, which may be an earlier test's, closed
    python_logger.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        handler.stream = previous_stream
        python_logger.setLevel(previous_level)


def _store(stack: EmbeddedStack, created: float) -> TaskStore:
    """A task store on the stack's tables whose tasks are all created at ``created``."""
    return TaskStore(stack.client("dynamodb"), Tables(), clock=lambda: created)


def test_a_run_prints_the_metrics_of_its_outcome(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], step_logs: io.StringIO
) -> None:
    # Given a healthy labourer with 5 queued tasks and a cap of 3, one blocked by a Bad database with 4 tasks waiting,
    # and one whose every invoke is throttled (2 tasks, cap 2); all tasks created 100 s before the run
    created = time.time()
    healthy, throttled = FakeLabourer(), FakeLabourer()
    seed_cpu(stack, "db-b", 60)
    stack.put_config(
        {
            "task_config": {
                "labourers": {
                    "worker-a": labourer_config(stack.add_function("worker-a", healthy), 3),
                    "worker-b": labourer_config(
                        stack.add_function("worker-b", FakeLabourer()),
                        2,
                        health_metrics={"cpu": cpu_metric("db-b", {3: 50, 4: 25})},
                    ),
                    "worker-c": labourer_config(stack.add_function("worker-c", throttled), 2),
                }
            }
        }
    )
    store = _store(stack, created)
    for labourer, count in (("worker-a", 5), ("worker-b", 4), ("worker-c", 2)):
        store.create_tasks(labourer, [{"n": n} for n in range(count)])
    stack.runtime.add_fault("worker-c", "TooManyRequestsException", status=429)

    # When the Orchestrator runs
    execution = stack.run({"now": created + 100})

    # Then Summarize printed one blob per labourer and one deployment-wide, in the template's namespace
    blobs = [blob for blob in emf_blobs(capsys.readouterr().out) if blob.namespace == NAMESPACE]
    by_labourer: dict[str | None, Blob] = {blob.dimension("Labourer"): blob for blob in blobs}
    assert len(blobs) == 4
    assert set(by_labourer) == {"worker-a", "worker-b", "worker-c", None}
    assert all(blob.raw["execution"] == execution.arn for blob in blobs)
    assert by_labourer["worker-a"].values == {
        "Invoked": 3,
        "Skipped": 0,
        "Released": 0,
        "Failed": 0,
        "Lost": 0,
        "SetAside": 0,
        "Running": 0,
        "Desired": 3,
        "Cap": 3,
        "HealthStatus": 4,
        "HealthBlocked": 0,
        "QueueDepth": 5,
        "OldestQueuedAgeSeconds": 100,
    }
    blocked = by_labourer["worker-b"].values
    assert {name: blocked[name] for name in ("HealthStatus", "HealthBlocked", "Desired", "Invoked", "QueueDepth")} == {
        "HealthStatus": 0,
        "HealthBlocked": 1,
        "Desired": 0,
        "Invoked": 0,
        "QueueDepth": 4,
    }
    released = by_labourer["worker-c"].values
    assert (released["Invoked"], released["Released"], released["QueueDepth"]) == (0, 2, 2)
    assert by_labourer[None].dimension_sets == [()]
    assert by_labourer[None].values == {
        "HealthBlocked": 1,
        "Lost": 0,
        "OldestQueuedAgeSeconds": 100,
        "ReadCapacityUnits": execution.output["read_units"]["total"],
    }
    assert execution.output["read_units"]["total"] > 0
    # and the execution's output carries the same queue readings
    lines = execution.output["labourers"]
    assert lines["worker-b"]["blocked_by_health"] is True
    assert lines["worker-a"]["queue"] == {"depth": 5, "oldest_age_seconds": 100}


def test_with_idle_labourer_metrics_off_a_run_prints_metrics_for_its_busy_labourers_only(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two labourers, one with tasks and one with none, and a config that leaves out idle labourers' metrics
    names = ("worker-a", "worker-b")
    labourers = {name: labourer_config(stack.add_function(name, FakeLabourer()), 2) for name in names}
    stack.put_config({"task_config": {"labourers": labourers}, "idle_labourer_metrics": False})
    _store(stack, time.time()).create_tasks("worker-a", [{"n": 1}])

    output = stack.run().output

    # Then Summarize prints worker-a's blob and the deployment-wide one; worker-b, idle, costs no custom metric
    assert output["labourers"]["worker-b"] == {"status": 4, "health": "not read"}
    by_labourer = {blob.dimension("Labourer"): blob for blob in emf_blobs(capsys.readouterr().out)}
    assert set(by_labourer) == {"worker-a", None}
    assert by_labourer["worker-a"].values["Invoked"] == 1


def test_every_log_line_of_the_steps_names_the_execution(
    stack: EmbeddedStack, step_logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeLabourer()
    stack.put_config(
        {"task_config": {"labourers": {"worker-a": labourer_config(stack.add_function("worker-a", fake), 2)}}}
    )
    _store(stack, time.time()).create_tasks("worker-a", [{"n": n} for n in range(3)])

    execution = stack.run()

    lines = [line for line in log_lines(step_logs.getvalue()) if line.get("function_name", "").startswith("foreman-")]
    assert {line["function_name"] for line in lines} == {f"foreman-{step}Function" for step in STEPS}
    assert {line["execution"] for line in lines} == {execution.arn}
    assert {line["message"] for line in lines} >= {"config loaded", "ecology", "fetched", "labourer report"}


def test_compute_ecology_logs_every_reading_of_each_labourers_health(
    stack: EmbeddedStack, step_logs: io.StringIO
) -> None:
    # Given one labourer whose metric has data and one whose metric has none (the report keeps only set_by)
    stack.put_config(
        {
            "task_config": {
                "labourers": {
                    "worker-a": labourer_config(stack.add_function("worker-a", FakeLabourer()), 2,
                                                health_metrics={"cpu": cpu_metric("db-a", {4: 50})}),
                    "worker-b": labourer_config(stack.add_function("worker-b", FakeLabourer()), 2,
                                                health_metrics={"cpu": cpu_metric("db-none", {4: 50})}),
                }
            }
        }
    )  # fmt: skip
    seed_cpu(stack, "db-a", 20)
    store = _store(stack, time.time())
    for name in ("worker-a", "worker-b"):  # a labourer's health is read when tasks wait for it
        store.create_tasks(name, [{"n": 1}])

    output = stack.run().output

    healths = {line["labourer_id"]: line for line in log_lines(step_logs.getvalue()) if line["message"] == "health"}
    assert healths["worker-a"]["status"] == 4
    assert [(r["metric"], r["value"], r["no_data"]) for r in healths["worker-a"]["readings"]] == [("cpu", 20, False)]
    assert [(r["metric"], r["value"], r["no_data"]) for r in healths["worker-b"]["readings"]] == [("cpu", None, True)]
    line = output["labourers"]["worker-b"]
    assert (line["status"], line["set_by"]) == (0, "cpu")  # the line names the metric only


def test_a_failed_run_logs_its_error_with_the_execution(stack: EmbeddedStack, step_logs: io.StringIO) -> None:
    stack.put_config(
        {"task_config": {"labourers": {"worker-a": {"arn": "worker-a", "max_simultanous_invocations": 2}}}}
    )

    with pytest.raises(ExecutionFailedError) as failure:
        stack.run()

    errors = [line for line in log_lines(step_logs.getvalue()) if line["level"] == "ERROR"]
    assert [(line["message"], line["execution"], line["function_name"]) for line in errors] == [
        ("step failed", failure.value.execution["executionArn"], "foreman-LoadConfigFunction")
    ]
    assert "max_simultanous_invocations" in errors[0]["exception"]


# ---- what one run costs: AWS calls, by whom (the cost model in docs/operations.md) -----------------------------------


class CallMeter:
    """Counts every AWS API call made in this process, attributed to the Lambda step it was made in (a step's calls
    run in the thread that invoked it), or else to the state machine's own integrations."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self._step = threading.local()
        self._lock = threading.Lock()

    def step_wrapper(self, step: str) -> Any:
        def wrapper(real: Any, event: Any, context: Any) -> Any:
            self._step.name = step
            try:
                return real(event, context)
            finally:
                self._step.name = None

        return wrapper

    @contextmanager
    def counting(self) -> Iterator[CallMeter]:
        original = BaseClient._make_api_call
        meter = self

        def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            if service == "stepfunctions":
                return original(client, operation, params)  # the test starting and watching the execution
            who = getattr(meter._step, "name", None) or "state machine"
            if service == "lambda" and operation == "Invoke" and "labourer" not in str(params.get("FunctionName")):
                who = "state machine (step)" if "foreman-" in str(params.get("FunctionName")) else who
            with meter._lock:
                meter.calls[(who, service, operation)] += 1
            return original(client, operation, params)

        with mock.patch.object(BaseClient, "_make_api_call", make_api_call):
            yield self

    def by(self, who: str) -> dict[str, int]:
        return {f"{service}.{operation}": n for (caller, service, operation), n in self.calls.items() if caller == who}


def _measure(stack: EmbeddedStack, tasks_per_labourer: int, labourers: int) -> tuple[CallMeter, Any]:
    fakes = {f"worker-{name}": FakeLabourer() for name in "abcd"[:labourers]}
    seed_cpu(stack, "db", 10)
    stack.put_config(
        {
            "task_config": {
                "labourers": {
                    name: labourer_config(
                        stack.add_function(name, fake), 100, health_metrics={"cpu": cpu_metric("db", {3: 50, 4: 25})}
                    )
                    for name, fake in fakes.items()
                }
            }
        }
    )
    store = _store(stack, time.time())
    for name in fakes:
        store.create_tasks(name, [{"n": n} for n in range(tasks_per_labourer)])
    meter = CallMeter()
    for step in STEPS:
        stack.runtime.wrap(f"foreman-{step}Function", meter.step_wrapper(step))
    with meter.counting():
        execution = stack.run()
    return meter, execution


@pytest.mark.parametrize("labourers", [1, 2])
def test_calls_per_run_and_per_task(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], step_logs: io.StringIO, labourers: int
) -> None:
    tasks = 20
    meter, execution = _measure(stack, tasks, labourers)
    printed = capsys.readouterr().out
    logged = [line for line in step_logs.getvalue().splitlines() if line.startswith("{")]
    invoked = tasks * labourers

    # The steps: a fixed number of calls per run and per labourer, none per task. ComputeEcology takes the lease,
    # asks whether tasks wait (one Limit=1 query) and counts running tasks; FetchGreenfieldTasks reads each queue's
    # head and tail (the depth: the budget goes to labourers with tasks queued), then the tasks after the head.
    assert meter.by("LoadConfig") == {"ssm.GetParameter": 1}
    assert meter.by("ComputeEcology") == {
        "cloudwatch.GetMetricData": 1,
        "dynamodb.UpdateItem": 1,
        "dynamodb.Query": 2 * labourers,
    }
    # ... and writes the run's groups to S3 in one object (one line per group)
    assert meter.by("FetchGreenfieldTasks") == {"dynamodb.Query": 3 * labourers, "s3.PutObject": 1}
    # the lease given back, with the run's record; the Map Run's manifest and its one results file read (each child's
    # entry holds its group: the groups file, the run's payloads, is not read again)
    assert meter.by("Summarize") == {"dynamodb.UpdateItem": 1, "s3.GetObject": 2}
    # The state machines' own integrations: the four steps, per task one claim and one invoke, per run the Distributed
    # Map's read of the groups and its ResultWriter's results file and manifest (StartInvocations' StartExecution is
    # not counted here: the meter leaves Step Functions calls to the test's own watching)
    assert meter.by("state machine (step)") == {"lambda.Invoke": 4}
    assert meter.by("state machine") == {
        "dynamodb.UpdateItem": invoked,
        "lambda.Invoke": invoked,
        "s3.GetObject": 1,
        "s3.PutObject": 2,
    }
    # What Summarize prints for CloudWatch: one EMF blob per labourer, one deployment-wide
    blobs = emf_blobs(printed)
    assert len(blobs) == labourers + 1
    transitions = execution.state_transitions()
    emf_bytes = [len(line) + 1 for line in printed.splitlines() if '"_aws"' in line]
    # the figures behind the cost model in docs/operations.md: `pytest -s` shows them
    print(
        f"\n{labourers} labourer(s), {invoked} tasks: {transitions} state transitions "
        f"({transitions - 3 * invoked} fixed), {execution.events} history events; "
        f"EMF blobs {emf_bytes} bytes; "
        f"INFO log lines {len(logged)}, {sum(len(line) + 1 for line in logged)} bytes; "
        f"calls {dict(meter.calls)}"
    )
    # per task ClaimWindow, Claim and Invoke; per run the Orchestrator's six states (the steps, AnyInvocations,
    # StartInvocations, InvocationsStarted) and the Invocations execution's two (the Distributed Map, Summarize); per
    # group (one child each: here one per labourer) its InvokeTasks and LabourerDone
    assert transitions - 3 * invoked == 8 + 2 * labourers


def test_the_scavenger_prints_each_labourers_dead_tasks(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given one labourer whose only attempt at two tasks expired, and a second labourer with nothing dead
    fake = FakeLabourer()
    stack.put_config(
        {
            "task_config": {
                "labourers": {
                    "worker-a": labourer_config(stack.add_function("worker-a", fake), 2, max_attempts=1),
                    "worker-b": labourer_config(stack.add_function("worker-b", FakeLabourer()), 2),
                }
            }
        }
    )
    now = time.time()
    _store(stack, now).create_tasks("worker-a", [{"n": 1}, {"n": 2}])
    stack.run({"now": now})
    capsys.readouterr()

    # When the Scavenger runs after the tasks expired (duration + cooldown = 1200 s)
    output = stack.run({"now": now + 1300}, state_machine="ScavengerArn").output

    # Then it closed them as dead; worker-b, with nothing to do, was not scavenged at all (no line, no metric)
    assert [(line["labourer_id"], line.get("dead", 0)) for line in scavenged(output)] == [("worker-a", 2)]
    assert (output["labourers"], output["with_work"]) == (2, 1)
    # and it printed worker-a's DeadTasks and the deployment-wide one (what the alarm reads): no zero per labourer
    blobs = [blob for blob in emf_blobs(capsys.readouterr().out) if "DeadTasks" in blob.values]
    assert sorted((blob.dimension_sets, blob.values["DeadTasks"]) for blob in blobs) == [
        ([()], 2.0),
        ([("Labourer",)], 2.0),
    ]
    assert all(blob.namespace == NAMESPACE for blob in blobs)


def test_with_idle_labourer_metrics_the_scavenger_prints_a_zero_for_each_labourer_it_scavenged(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a labourer with a task running (not yet expired), and one with nothing, metrics for idle labourers on
    stack.put_config({"task_config": {"labourers": {
        name: labourer_config(stack.add_function(name, FakeLabourer()), 2) for name in ("worker-a", "worker-b")}},
        "idle_labourer_metrics": True})  # fmt: skip
    now = time.time()
    _store(stack, now).create_tasks("worker-a", [{"n": 1}])
    stack.run({"now": now})
    capsys.readouterr()

    output = stack.run({"now": now + 10}, state_machine="ScavengerArn").output

    # Then worker-a was scavenged (nothing to move yet) and has its 0; worker-b was not, and has none
    assert scavenged(output) == [{"labourer_id": "worker-a"}]
    blobs = [blob for blob in emf_blobs(capsys.readouterr().out) if "DeadTasks" in blob.values]
    assert sorted((blob.dimension("Labourer") or "", blob.values["DeadTasks"]) for blob in blobs) == [
        ("", 0.0),
        ("worker-a", 0.0),
    ]


# ---- the ecology reads what the run's work needs, not what its labourers number (issue 23) ---------------------------


def _metered(stack: EmbeddedStack) -> CallMeter:
    meter = CallMeter()
    for step in STEPS:
        stack.runtime.wrap(f"foreman-{step}Function", meter.step_wrapper(step))
    return meter


def test_only_labourers_with_tasks_waiting_have_their_health_read(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given three labourers with a health metric each (all with data), tasks waiting for worker-a only
    for database in ("db-a", "db-b", "db-c"):
        seed_cpu(stack, database, 10)
    stack.put_config({"task_config": {"labourers": {
        name: labourer_config(stack.add_function(name, FakeLabourer()), 2,
                              health_metrics={"cpu": cpu_metric(database, {4: 50})})
        for name, database in (("worker-a", "db-a"), ("worker-b", "db-b"), ("worker-c", "db-c"))}}})  # fmt: skip
    _store(stack, time.time()).create_tasks("worker-a", [{"n": 1}])
    requested: list[str] = []
    original = BaseClient._make_api_call

    def spy(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "GetMetricData":
            requested.extend(
                dimension["Value"]
                for query in params["MetricDataQueries"]
                for dimension in query["MetricStat"]["Metric"]["Dimensions"]
            )
        return original(client, operation, params)

    # When the Orchestrator runs
    meter = _metered(stack)
    with mock.patch.object(BaseClient, "_make_api_call", spy), meter.counting():
        output = stack.run().output

    # Then only worker-a's metric was requested; the others' lines say their health was not read, and the fetch did
    # not read their (empty) queues again: one probe and one running count each in ComputeEcology, nothing more
    assert requested == ["db-a"]
    assert output["labourers"]["worker-a"]["invoked"] == 1
    assert "health" not in output["labourers"]["worker-a"]
    assert output["labourers"]["worker-b"] == output["labourers"]["worker-c"] == {"status": 4, "health": "not read"}
    assert meter.by("ComputeEcology")["dynamodb.Query"] == 2 * 3
    # worker-a's head, tail and tasks; its one group to S3
    assert meter.by("FetchGreenfieldTasks") == {"dynamodb.Query": 3, "s3.PutObject": 1}
    # and no HealthStatus metric claims a status nobody read
    blobs = {blob.dimension("Labourer"): blob for blob in emf_blobs(capsys.readouterr().out)}
    assert set(blobs) == {"worker-a", None}
    assert blobs["worker-a"].values["HealthStatus"] == 4


def test_a_run_that_finds_the_lease_taken_reads_nothing_and_prints_no_metric(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a labourer with a health metric and tasks waiting, and the lease held by another execution
    from foreman_core import lease

    seed_cpu(stack, "db-a", 10)
    worker = labourer_config(
        stack.add_function("worker-a", FakeLabourer()), 2, health_metrics={"cpu": cpu_metric("db-a", {4: 50})}
    )
    stack.put_config({"task_config": {"labourers": {"worker-a": worker}}})
    _store(stack, time.time()).create_tasks("worker-a", [{"n": 1}])
    other = "arn:aws:states:us-east-1:123456789012:execution:foreman-Orchestrator:other"
    taken = lease.take(
        stack.client("dynamodb"), "sosw_tasks", run="run-other", execution=other, now=time.time(), seconds=60
    )
    assert taken.held

    # When a run starts
    meter = _metered(stack)
    with meter.counting():
        output = stack.run().output

    # Then it took no metric, counted nothing, read no queue: the lease attempt is its only call
    assert output["lease"]["held"] is False
    assert meter.by("ComputeEcology") == {"dynamodb.UpdateItem": 1}
    assert meter.by("FetchGreenfieldTasks") == {}
    assert output["labourers"]["worker-a"]["health"] == "not read"
    assert output["totals"].get("invoked", 0) == 0
    # and it printed no metric: its zeros would break the HealthBlocked alarm's streak
    assert [blob for blob in emf_blobs(capsys.readouterr().out) if blob.namespace == NAMESPACE] == []


def test_an_idle_scavenger_run_scavenges_nobody(stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]) -> None:
    # Given two labourers, one with tasks queued but none invoked, nothing in the retry table
    workers = {name: labourer_config(stack.add_function(name, FakeLabourer()), 2) for name in ("worker-a", "worker-b")}
    stack.put_config({"task_config": {"labourers": workers}})
    _store(stack, time.time()).create_tasks("worker-a", [{"n": 1}])
    calls: Counter[str] = Counter()
    for function in ("FindLabourersWithWork", "ScavengeLabourers"):
        stack.runtime.wrap(f"foreman-{function}Function", lambda real, event, context, f=function: (
            calls.update([f]), real(event, context))[1])  # fmt: skip

    execution = stack.run(state_machine="ScavengerArn")

    # Then it looked (one call), found nothing to do, made no batch and printed no metric
    assert execution.output["batches"] == []
    assert (execution.output["labourers"], execution.output["with_work"]) == (2, 0)
    assert calls == {"FindLabourersWithWork": 1}
    assert execution.state_transitions() <= 5
    assert [blob for blob in emf_blobs(capsys.readouterr().out) if "DeadTasks" in blob.values] == []


def test_no_task_payload_reaches_any_step_log_by_default(
    stack: EmbeddedStack, step_logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given tasks whose payload carries a secret, one of them malformed (set aside, with its reason logged)
    secret = "s3cr3t-payload-value"
    stack.put_config({"task_config": {"labourers": {
        "worker-a": labourer_config(stack.add_function("worker-a", FakeLabourer()), 5, max_attempts=1)}}})  # fmt: skip
    now = time.time()
    store = _store(stack, now)
    store.create_tasks("worker-a", [{"secret": secret, "n": n} for n in range(3)])

    # When the Orchestrator runs (LogLevel INFO, the default) and the Scavenger closes the expired ones as dead
    stack.run({"now": now})
    stack.run({"now": now + 1300}, state_machine="ScavengerArn")

    # Then neither the steps' logs (which did log the run) nor anything they printed (EMF metrics) holds the payload
    assert "labourer scavenged" in step_logs.getvalue()
    assert secret not in step_logs.getvalue()
    assert secret not in capsys.readouterr().out
