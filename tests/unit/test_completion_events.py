"""Reading the three kinds of completion report: sosw's WorkerAssistant events, Lambda destination records, and the
attempt an orchestrated event stands for; and the retry delay's arithmetic."""

from __future__ import annotations

from typing import Any

import pytest

from foreman_core.completion import (
    MAX_RESULT_BYTES,
    Action,
    InvalidReportError,
    Source,
    attempt_of,
    from_destination_record,
    from_worker_assistant_event,
)
from foreman_core.config import Labourer, RetryBackoff
from foreman_core.scavenger import dead_reason, retry_delay

TASK = {"task_id": "t1", "labourer_id": "lab", "attempts": 2, "greenfield": 3000, "number": 4}


def destination(condition: str, response: Any = None, *, payload: Any = TASK, count: int = 1) -> dict[str, Any]:
    return {
        "version": "1.0",
        "timestamp": "2024-01-01T00:00:00.000Z",
        "requestContext": {
            "requestId": "r",
            "functionArn": "arn",
            "condition": condition,
            "approximateInvokeCount": count,
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": response,
    }


def test_sosws_event_is_read_as_sosw_sends_it() -> None:
    request = from_worker_assistant_event(
        {"action": "mark_task_as_completed", "task_id": "t1", "stats": '{"a": 1}', "result": {"b": 2}}
    )

    assert (request.action, request.task_id, request.source) == (Action.COMPLETED, "t1", Source.WORKER_ASSISTANT)
    assert (request.stats, request.result, request.attempt, request.labourer_id) == ('{"a": 1}', {"b": 2}, None, None)


def test_foremans_extra_fields_make_the_report_exact() -> None:
    request = from_worker_assistant_event(
        {"action": "mark_task_as_failed", "task_id": "t1", "attempt": 3, "labourer_id": "lab"}
    )

    assert (request.action, request.attempt, request.labourer_id) == (Action.FAILED, 3, "lab")


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        {"task_id": "t1"},
        {"action": "close", "task_id": "t1"},
        {"action": "mark_task_as_completed", "task_id": ""},
    ],
)
def test_what_sosw_would_reject_is_rejected(event: Any) -> None:
    with pytest.raises(InvalidReportError):
        from_worker_assistant_event(event)


@pytest.mark.parametrize(
    ("event", "attempt"),
    [
        ({"attempts": 0}, 1),
        ({"attempts": 2}, 3),
        ({"attempts": "1"}, 2),
        ({"attempts": 1.0}, 2),
        ({}, None),
        ({"attempts": True}, None),
        ({"attempts": -1}, None),
    ],
)
def test_the_attempt_is_the_pre_claim_attempts_plus_one(event: dict[str, Any], attempt: int | None) -> None:
    assert attempt_of(event) == attempt


def test_a_success_record_completes_with_the_response_as_result() -> None:
    request = from_destination_record(destination("Success", {"rows": 3}))

    assert (request.action, request.task_id, request.source) == (Action.COMPLETED, "t1", Source.TASK_DESTINATION)
    assert (request.result, request.stats, request.attempt, request.labourer_id) == (
        {"rows": 3},
        {"invoke_count": 1},
        3,
        "lab",
    )


def test_a_large_or_non_object_response_is_not_kept() -> None:
    assert from_destination_record(destination("Success", "done")).result is None
    assert from_destination_record(destination("Success", {"blob": "x" * MAX_RESULT_BYTES})).result is None


@pytest.mark.parametrize("condition", ["RetriesExhausted", "EventAgeExceeded"])
def test_a_failure_record_fails_with_the_error(condition: str) -> None:
    record = destination(condition, {"errorType": "KeyError", "errorMessage": "x" * 5000}, count=3)
    record["responseContext"]["functionError"] = "Unhandled"

    request = from_destination_record(record)

    assert request.action is Action.FAILED
    assert request.stats == {"invoke_count": 3}
    assert request.result == {
        "condition": condition,
        "function_error": "Unhandled",
        "error_type": "KeyError",
        "error_message": "x" * 1000,
    }


@pytest.mark.parametrize(
    "record",
    [
        None,
        {"requestPayload": TASK},
        destination("Success", payload={"no": "task"}),
        destination("Success", payload="text"),
        destination("Throttled"),
    ],
)
def test_records_without_a_task_are_refused(record: Any) -> None:
    with pytest.raises(InvalidReportError):
        from_destination_record(record)


LAB = Labourer(id="lab", arn="lab")


@pytest.mark.parametrize(
    ("labourer", "base", "delays"),
    [
        (LAB, 60, [60, 120, 180, 240]),
        (Labourer(id="l", arn="l", retry_backoff=RetryBackoff.EXPONENTIAL), 60, [60, 120, 240, 480]),
        (
            Labourer(id="l", arn="l", retry_backoff=RetryBackoff.EXPONENTIAL, max_retry_delay_seconds=200),
            60,
            [60, 120, 200, 200],
        ),
        (LAB, 0, [0, 0, 0, 0]),
    ],
)
def test_the_retry_delay(labourer: Labourer, base: int, delays: list[int]) -> None:
    assert [retry_delay(labourer, attempts, base) for attempts in (1, 2, 3, 4)] == delays


def test_dead_reasons() -> None:
    assert dead_reason(failed=False, attempts=3) == "expired after 3 attempts"
    assert dead_reason(failed=True, attempts=1) == "failed after 1 attempt"
