"""RedriveExecution restarts a failed Standard execution from its unsuccessful state, as Step Functions does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from foreman.local.patches import resolve_internal
from foreman.local.redrive import PATCHED_INTERNALS
from tests.asl_bench import AslBench, asl_bench


@pytest.mark.parametrize(("module", "attribute"), PATCHED_INTERNALS, ids=[f"{m}:{a}" for m, a in PATCHED_INTERNALS])
def test_each_internal_the_redrive_patch_uses_still_exists(module: str, attribute: str) -> None:
    resolve_internal(module, attribute)


@pytest.fixture
def bench() -> Iterator[AslBench]:
    with asl_bench() as bench:
        yield bench


def test_a_failed_execution_is_redriven_from_its_failed_state_with_the_same_arn(bench: AslBench) -> None:
    calls: list[dict[str, Any]] = []
    broken = {"yes": True}

    def flaky(event: Any, context: Any) -> Any:
        calls.append(event)
        if broken["yes"]:
            raise RuntimeError("down")
        return {"ok": True}

    bench.function("flaky", flaky)
    machine = bench.machine({
        "StartAt": "Before",
        "States": {
            "Before": {"Type": "Pass", "Result": {"before": 1}, "ResultPath": "$.before", "Next": "Call"},
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "flaky", "Payload": {
                    "input.$": "$", "redrives.$": "$$.Execution.RedriveCount"}},
                "ResultSelector": {"ok.$": "$.Payload.ok"},
                "End": True,
            },
        },
    })  # fmt: skip
    first = bench.run(machine, {"n": 7})
    arn = first["executionArn"]
    assert first["status"] == "FAILED"
    assert (first["redriveCount"], first["redriveStatus"]) == (0, "REDRIVABLE")
    assert calls[0]["redrives"] == 0

    broken["yes"] = False
    bench.sfn.redrive_execution(executionArn=arn)
    again = bench.wait(arn)
    assert again["status"] == "SUCCEEDED"
    assert again["redriveCount"] == 1
    assert "redriveDate" in again
    assert json.loads(again["output"]) == {"ok": True}
    # the failed state ran again with the input it had; the state before it did not run again
    assert calls[1] == {"input": {"n": 7, "before": {"before": 1}}, "redrives": 1}
    history = bench.history(arn)
    types = [event["type"] for event in history]
    assert types.count("ExecutionStarted") == 1
    assert types.count("PassStateEntered") == 1
    redriven = history[types.index("ExecutionRedriven")]
    assert redriven["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert types[-1] == "ExecutionSucceeded"
    assert [event["id"] for event in history] == list(range(1, len(history) + 1))


def test_a_succeeded_or_express_execution_is_not_redrivable(bench: AslBench) -> None:
    passes = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    done = bench.run(bench.machine(passes))
    assert done["redriveStatus"] == "NOT_REDRIVABLE"
    with pytest.raises(bench.sfn.exceptions.ExecutionNotRedrivable):
        bench.sfn.redrive_execution(executionArn=done["executionArn"])


def test_an_aborted_execution_is_redrivable(bench: AslBench) -> None:
    import threading

    entered, release = threading.Event(), threading.Event()

    def held(event: Any, context: Any) -> Any:
        entered.set()
        release.wait(30)
        return {}

    bench.function("held", held)
    machine = bench.machine({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "held"},
        "End": True}}})  # fmt: skip
    arn = bench.start(machine)
    assert entered.wait(10)
    bench.sfn.stop_execution(executionArn=arn)
    release.set()
    assert bench.wait(arn)["redriveStatus"] == "REDRIVABLE"
    bench.sfn.redrive_execution(executionArn=arn)
    assert bench.wait(arn)["status"] == "SUCCEEDED"
