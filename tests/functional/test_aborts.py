"""StopExecution and TimeoutSeconds end a Standard execution as Step Functions does (ABORTED, TIMED_OUT)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from foreman.local.aborts import PATCHED_INTERNALS
from foreman.local.patches import resolve_internal
from tests.asl_bench import AslBench, asl_bench


@pytest.mark.parametrize(("module", "attribute"), PATCHED_INTERNALS, ids=[f"{m}:{a}" for m, a in PATCHED_INTERNALS])
def test_each_internal_the_abort_patch_uses_still_exists(module: str, attribute: str) -> None:
    resolve_internal(module, attribute)


@pytest.fixture
def bench() -> Iterator[AslBench]:
    with asl_bench() as bench:
        yield bench


def _held(bench: AslBench) -> tuple[threading.Event, threading.Event]:
    """A function ``held`` whose calls wait for ``release``; ``entered`` is set when the first call runs."""
    entered, release = threading.Event(), threading.Event()

    def handler(event: Any, context: Any) -> Any:
        entered.set()
        release.wait(30)
        return {"done": event}

    bench.function("held", handler)
    return entered, release


def _task(next_state: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "held", "Payload.$": "$"},
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
    }
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


MAP_OF_HELD_TASKS = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "ItemProcessor": {"StartAt": "Work", "States": {"Work": _task(), "Caught": {"Type": "Pass", "End": True}}},
            "End": True,
        }
    },
}


def test_an_execution_stopped_mid_map_is_aborted_with_the_stops_error_and_cause(bench: AslBench) -> None:
    entered, release = _held(bench)
    arn = bench.start(bench.machine(MAP_OF_HELD_TASKS), {"items": [1, 2, 3, 4]})
    assert entered.wait(10)

    answer = bench.sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by hand")

    # AWS: ABORTED from the moment StopExecution answers, while the handler in flight still runs
    description = bench.sfn.describe_execution(executionArn=arn)
    assert description["status"] == "ABORTED"
    assert description["stopDate"] == answer["stopDate"]
    assert (description["error"], description["cause"]) == ("Operator", "stopped by hand")
    release.set()
    assert bench.wait(arn)["status"] == "ABORTED"  # the task that returned after the stop changed nothing
    history = bench.history(arn)
    assert history[-1]["type"] == "ExecutionAborted"
    assert history[-1]["executionAbortedEventDetails"] == {"error": "Operator", "cause": "stopped by hand"}
    assert not [event for event in history if event["type"] in {"TaskSucceeded", "ExecutionFailed"}]
    assert [event["id"] for event in history] == list(range(1, len(history) + 1))


def test_a_stop_without_error_or_cause_records_empty_details_as_aws_does(bench: AslBench) -> None:
    entered, release = _held(bench)
    arn = bench.start(bench.machine({"StartAt": "Work", "States": {"Work": {**_task(), "Catch": []}}}))
    assert entered.wait(10)
    bench.sfn.stop_execution(executionArn=arn)
    release.set()
    description = bench.wait(arn)
    assert description["status"] == "ABORTED"
    assert "error" not in description
    assert "cause" not in description
    assert bench.history(arn)[-1]["executionAbortedEventDetails"] == {}


def test_an_execution_past_its_timeout_seconds_times_out_even_inside_a_map(bench: AslBench) -> None:
    entered, release = _held(bench)
    definition = {**MAP_OF_HELD_TASKS, "TimeoutSeconds": 1}
    arn = bench.start(bench.machine(definition), {"items": [1, 2, 3]})
    assert entered.wait(10)
    try:
        description = bench.wait(arn, timeout=30)
    finally:
        release.set()
    assert description["status"] == "TIMED_OUT"
    assert bench.history(arn)[-1]["type"] == "ExecutionTimedOut"
