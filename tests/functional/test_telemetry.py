"""Telemetry: the EMF blobs a run report becomes (names, dimensions, units, values, namespace), the Scavenger's
DeadTasks, and the execution id on every log line of a step."""

from __future__ import annotations

import io
import logging
import threading
import uuid
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from foreman.local.lambda_runtime import LambdaContext
from foreman_core import telemetry
from foreman_core.run import summarize
from tests.emf import Blob, emf_blobs, log_lines

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:foreman-Orchestrator:run-1"
NAMESPACE = "ForemanTest"


@pytest.fixture(autouse=True)
def _namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)


CAPS = {"worker-a": 10, "worker-b": 10, "worker-c": 10}


def _known_run() -> dict[str, Any]:
    """A run with a known outcome: a healthy labourer with mixed outcomes, one blocked by its health while 12 tasks
    wait, one with an empty queue (its line leaves the queue out). The state is as Summarize receives it."""
    state = {
        "run": {"execution": EXECUTION, "start": 1_700_000_000},
        "config": {"location": "memory:", "sha256": "00" * 32, "labourers": 3},
        "report": {
            "worker-a": {"status": 4, "running": 2, "desired": 8, "fetched": 4,
                         "set_aside": [{"task_id": "bad", "reason": "payload is not JSON"}],
                         "queue": {"depth": 40, "oldest_age_seconds": 75.0}},
            "worker-b": {"status": 0, "set_by": "cpu", "blocked_by_health": True,
                         "queue": {"depth": 12, "oldest_age_seconds": 3900.0}},
            "worker-c": {"status": 4, "running": 2, "desired": 8},
        },
        "read_units": {"ComputeEcology": 1.5, "FetchGreenfieldTasks": 12.5},
    }  # fmt: skip
    results = [  # the run's groups' results (run_groups.read_results)
        {
            "labourer_id": "worker-a",
            "outcomes": [
                {"outcome": "invoked"},
                {"outcome": "invoked"},
                {"task_id": "worker-a-2", "outcome": "skipped"},
                {"task_id": "worker-a-3", "outcome": "released", "error": "Lambda.TooManyRequestsException"},
            ],
        },
        # a child of worker-a's that was stopped: its group's two tasks are lost (each may have been invoked)
        {"labourer_id": "worker-a", "error": "States.Aborted", "cause": "stopped", "task_ids": ["a-4", "a-5"]},
    ]
    return summarize(state, results)


def _by_labourer(blobs: list[Blob]) -> dict[str | None, Blob]:
    return {blob.dimension(telemetry.LABOURER): blob for blob in blobs}


def test_a_run_becomes_one_blob_per_labourer_and_one_deployment_wide(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.emit_run_report(_known_run(), CAPS)

    blobs = emf_blobs(capsys.readouterr().out)
    assert len(blobs) == 4
    by_labourer = _by_labourer(blobs)
    assert set(by_labourer) == {"worker-a", "worker-b", "worker-c", None}
    for blob in blobs:
        assert blob.namespace == NAMESPACE
        assert blob.raw["execution"] == EXECUTION  # metadata, not a dimension
        assert "service" not in blob.raw
    for labourer in ("worker-a", "worker-b", "worker-c"):
        assert by_labourer[labourer].dimension_sets == [("Labourer",)]
    assert by_labourer[None].dimension_sets == [()]


def test_per_labourer_values_are_the_reports(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.emit_run_report(_known_run(), CAPS)

    by_labourer = _by_labourer(emf_blobs(capsys.readouterr().out))
    assert by_labourer["worker-a"].values == {
        "Invoked": 2,
        "Skipped": 1,
        "Released": 1,
        "Failed": 0,
        "Lost": 2,
        "SetAside": 1,
        "Running": 2,
        "Desired": 8,
        "Cap": 10,
        "HealthStatus": 4,
        "HealthBlocked": 0,
        "QueueDepth": 40,
        "OldestQueuedAgeSeconds": 75,
    }
    blocked = by_labourer["worker-b"].values
    assert (blocked["HealthStatus"], blocked["HealthBlocked"], blocked["QueueDepth"]) == (0, 1, 12)
    idle = by_labourer["worker-c"].values
    assert (idle["HealthBlocked"], idle["QueueDepth"], idle["OldestQueuedAgeSeconds"], idle["Lost"]) == (0, 0, 0, 0)


def test_the_deployment_wide_blob_counts_blocked_labourers_and_takes_the_oldest_age(
    capsys: pytest.CaptureFixture[str],
) -> None:
    telemetry.emit_run_report(_known_run(), CAPS)

    total = _by_labourer(emf_blobs(capsys.readouterr().out))[None]
    assert total.values == {"HealthBlocked": 1, "Lost": 2, "OldestQueuedAgeSeconds": 3900, "ReadCapacityUnits": 14}
    assert total.units == {
        "HealthBlocked": "Count",
        "Lost": "Count",
        "OldestQueuedAgeSeconds": "Seconds",
        "ReadCapacityUnits": "Count",
    }


def test_units_are_the_declared_ones(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.emit_run_report(_known_run(), CAPS)

    units = _by_labourer(emf_blobs(capsys.readouterr().out))["worker-a"].units
    assert units == {
        spec.name: spec.unit.value
        for spec in telemetry.METRICS
        if spec.source == "Summarize" and spec.per_labourer is not None
    }
    assert units["HealthStatus"] == "None"
    assert units["OldestQueuedAgeSeconds"] == "Seconds"


def test_an_unknown_age_gets_no_datapoint_and_an_empty_queue_reads_zero(capsys: pytest.CaptureFixture[str]) -> None:
    report = _known_run()
    report["labourers"]["worker-b"]["queue"]["oldest_age_seconds"] = None  # a head task without created_at

    telemetry.emit_run_report(report, CAPS)

    by_labourer = _by_labourer(emf_blobs(capsys.readouterr().out))
    assert "OldestQueuedAgeSeconds" not in by_labourer["worker-b"].values
    assert by_labourer["worker-b"].values["QueueDepth"] == 12
    empty = by_labourer["worker-c"].values  # its line leaves the queue out: an empty queue
    assert (empty["QueueDepth"], empty["OldestQueuedAgeSeconds"]) == (0, 0)


def test_dead_tasks_go_out_per_labourer_and_as_the_deployment_total(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.emit_dead_tasks("worker-a", 3, execution=EXECUTION)
    telemetry.emit_dead_tasks("worker-b", 0)
    telemetry.emit_dead_tasks(None, 3)  # a Scavenger call's total over its labourers: what the alarm reads

    first, second, total = emf_blobs(capsys.readouterr().out)
    assert first.dimension_sets == [("Labourer",)]
    assert (total.dimension_sets, total.values) == ([()], {"DeadTasks": 3})
    assert (first.dimension("Labourer"), first.values, first.units) == (
        "worker-a",
        {"DeadTasks": 3},
        {"DeadTasks": "Count"},
    )
    assert first.raw["execution"] == EXECUTION
    assert (second.dimension("Labourer"), second.values) == ("worker-b", {"DeadTasks": 0})
    assert first.namespace == NAMESPACE


def test_every_emitted_metric_and_dimension_set_is_declared(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.emit_run_report(_known_run(), CAPS)
    telemetry.emit_dead_tasks("worker-a", 1)
    telemetry.emit_dead_tasks(None, 1)

    seen: set[tuple[str, tuple[str, ...]]] = set()
    for blob in emf_blobs(capsys.readouterr().out):
        seen.update((name, dimensions) for name in blob.values for dimensions in blob.dimension_sets)
    declared = {(name, dims) for name in telemetry.metric_names() for dims in telemetry.dimension_sets(name)}
    assert seen == declared


def test_the_namespace_defaults_to_foreman(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE")

    telemetry.emit_dead_tasks("worker-a", 1)

    (blob,) = emf_blobs(capsys.readouterr().out)
    assert blob.namespace == "Foreman"


# ---- logs -------------------------------------------------------------------------------------------------------


@pytest.fixture
def captured_logger() -> tuple[Logger, io.StringIO]:
    """A Powertools Logger of its own service, writing JSON lines to a buffer (a new service name each time:
    Powertools configures a service's logger once per process)."""
    stream = io.StringIO()
    service = f"telemetry-test-{uuid.uuid4().hex}"
    logger = Logger(service=service, logger_handler=logging.StreamHandler(stream), level="INFO")
    return logger, stream


def _context() -> LambdaContext:
    return LambdaContext("foreman-Step", "arn:aws:lambda:us-east-1:123456789012:function:foreman-Step", 256, 60)


def test_every_log_line_of_a_step_carries_its_execution(captured_logger: tuple[Logger, io.StringIO]) -> None:
    logger, stream = captured_logger

    @telemetry.lambda_step(logger)
    def handler(event: dict[str, Any], context: Any) -> str:
        logger.info("one")
        logger.warning("two", extra={"labourer_id": "worker-a"})
        return "done"

    assert handler({"execution": EXECUTION, "input": {}}, _context()) == "done"  # LoadConfig's event
    assert handler({"run": {"execution": EXECUTION + "-2"}}, _context()) == "done"  # every later step's state
    handler({"no": "execution"}, _context())
    logger.info("outside any step")

    lines = log_lines(stream.getvalue())
    assert [line.get("execution") for line in lines] == [EXECUTION, EXECUTION, EXECUTION + "-2", EXECUTION + "-2"] + [
        None
    ] * 3
    assert lines[0]["function_name"] == "foreman-Step"  # the Lambda context is on the line too


def test_a_failing_step_logs_the_error_with_its_execution(captured_logger: tuple[Logger, io.StringIO]) -> None:
    logger, stream = captured_logger

    @telemetry.lambda_step(logger)
    def handler(event: dict[str, Any], context: Any) -> None:
        raise KeyError("config")

    with pytest.raises(KeyError):
        handler({"execution": EXECUTION}, _context())

    (line,) = log_lines(stream.getvalue())
    assert (line["level"], line["message"], line["execution"]) == ("ERROR", "step failed", EXECUTION)
    assert line["exception_name"] == "KeyError"


def test_steps_running_side_by_side_keep_their_own_execution(captured_logger: tuple[Logger, io.StringIO]) -> None:
    # Given one handler called from two threads at once (as the embedded stack runs overlapping executions)
    logger, stream = captured_logger
    barrier = threading.Barrier(2, timeout=10)

    @telemetry.lambda_step(logger, keys=lambda event: {"labourer_id": event["labourer"]})
    def handler(event: dict[str, Any], context: Any) -> None:
        barrier.wait()  # both have set their keys before either logs
        logger.info("working")
        barrier.wait()

    threads = [
        threading.Thread(target=handler, args=({"run": {"execution": f"exec-{n}"}, "labourer": f"l-{n}"}, _context()))
        for n in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    pairs = sorted((line["execution"], line["labourer_id"]) for line in log_lines(stream.getvalue()))
    assert pairs == [("exec-0", "l-0"), ("exec-1", "l-1")]


def test_execution_of() -> None:
    assert telemetry.execution_of({"execution": "a", "run": {"execution": "b"}}) == "a"
    assert telemetry.execution_of({"run": {"execution": "b"}}) == "b"
    assert telemetry.execution_of({"run": {}}) is None
    assert telemetry.execution_of(["not", "a", "mapping"]) is None


def test_without_idle_labourer_metrics_only_busy_labourers_get_blobs(capsys: pytest.CaptureFixture[str]) -> None:
    # worker-c is idle in the run (nothing queued, running, fetched or done); worker-b has tasks queued, blocked
    report = _known_run()
    report["labourers"]["worker-c"] = {"status": 4, "desired": 8}

    telemetry.emit_run_report(report, CAPS, idle=False)

    by_labourer = _by_labourer(emf_blobs(capsys.readouterr().out))
    assert set(by_labourer) == {"worker-a", "worker-b", None}
    assert by_labourer[None].values["HealthBlocked"] == 1  # the deployment-wide blob still counts every labourer
