"""The three completion paths on the embedded stack: the WorkerAssistant function (driven by sosw 0.7.51's own
Worker), the TaskDestination function (Lambda destination records) and the worker helper (through the WorkerAssistant
or straight to DynamoDB). All are conditional: no ghost items, and a late report is refused with its reason."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sosw.worker import Worker
from sosw.worker_assistant import WorkerAssistant

from foreman.local.deployer import ACCOUNT, REGION
from foreman.local.stack import EmbeddedStack
from foreman_core.config import Tables
from foreman_core.greenfield import RunMarkers
from foreman_core.task_store import Task, TaskStore
from foreman_core.worker import Reporter, ReportError, reports_completion
from tests.builders import FakeClock, all_items, payload
from tests.conservation import COMPLETED, RUNNING, census
from tests.sosw_context import sosw_lambda_context

LAB = "worker-a"
LAB_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{LAB}"
TABLES = Tables()


@pytest.fixture(scope="module")
def shared_stack() -> Iterator[EmbeddedStack]:
    """One stack for the module (its setup is most of a test's cost); ``stack`` empties it for each test."""
    with (
        sosw_lambda_context("foreman_completion_test"),
        EmbeddedStack(parameters={"LabourerArns": LAB_ARN, "LogLevel": "WARNING"}) as embedded,
    ):
        yield embedded


@pytest.fixture
def stack(shared_stack: EmbeddedStack, monkeypatch: pytest.MonkeyPatch) -> EmbeddedStack:
    """The shared stack with empty tables and no recorded calls."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "foreman_completion_test")
    client = shared_stack.client("dynamodb")
    for table, keys in (
        (TABLES.tasks, ("task_id",)),
        (TABLES.closed, ("task_id",)),
        (TABLES.retry, ("labourer_id", "task_id")),
    ):
        for row in list(all_items(client, table)):
            client.delete_item(TableName=table, Key={key: row[key] for key in keys})
    shared_stack.runtime.invocations.clear()
    shared_stack.runtime.destination_records.clear()
    return shared_stack


@pytest.fixture
def store(stack: EmbeddedStack) -> TaskStore:
    return TaskStore(stack.client("dynamodb"), TABLES)


def invoked(store: TaskStore, count: int = 1, *, when: float | None = None) -> list[dict[str, Any]]:
    """Queue ``count`` tasks and claim them as the Orchestrator would; the events their labourer would get."""
    markers = RunMarkers.at(time.time() if when is None else when, duration=900, cooldown=300)
    events = []
    for task in store.create_tasks(LAB, [payload(n) for n in range(count)]):
        claim = store.claim(task.task_id, LAB, markers)
        assert claim.claimed
        assert claim.task is not None
        before = claim.task
        events.append(
            {
                **before.payload,
                "task_id": before.task_id,
                "labourer_id": before.labourer_id,
                "created_at": before.created_at,
                "greenfield": before.greenfield,
                "attempts": before.attempts,
            }
        )
    return events


def call(stack: EmbeddedStack, output: str, event: Any) -> tuple[dict[str, Any], str | None]:
    """Invoke a stack function synchronously: (its answer, its FunctionError)."""
    response = stack.client("lambda").invoke(FunctionName=stack.outputs[output], Payload=json.dumps(event))
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def item(stack: EmbeddedStack, task_id: str) -> dict[str, Any]:
    found = TaskStore(stack.client("dynamodb"), TABLES).get_task(task_id)
    assert found is not None
    return found.attributes


# ---- WorkerAssistant: sosw's events, sosw's own Worker ---------------------------------------------------------------


class SoswLabourer(Worker):
    """A worker written for sosw, unchanged: it counts rows and lets ``Worker.__call__`` report completion."""

    def __call__(self, event: dict[str, Any], reset_result: bool = True) -> None:
        self.stats["rows"] += event["number"] + 1
        self.result["status"] = "done"
        super().__call__(event, reset_result=reset_result)


def test_a_sosw_worker_completes_its_task_through_foremans_worker_assistant(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    done, failed = invoked(store, 2)
    worker = SoswLabourer(custom_config={"sosw_worker_assistant_lambda": stack.outputs["WorkerAssistantFunctionArn"]})

    worker(done)  # sosw's Worker.__call__ -> mark_task_as_completed -> lambda.invoke(..., InvocationType="Event")
    worker.mark_task_as_failed(failed["task_id"])

    assistant_calls = stack.runtime.calls(stack.deployment.physical["WorkerAssistantFunction"])
    assert [c.event["action"] for c in assistant_calls] == ["mark_task_as_completed", "mark_task_as_failed"]
    assert assistant_calls[0].invocation_type == "Event"
    assert all(c.error is None for c in assistant_calls)
    completed = item(stack, done["task_id"])
    assert completed["completed_at"] >= int(time.time()) - 60
    assert (completed["stat_rows"], completed["result_status"]) == (1, "done")
    reported = item(stack, failed["task_id"])
    assert "completed_at" not in reported
    assert (reported["failed_attempts"], reported["stat_rows"]) == (1, 1)
    assert reported["failed_at"] >= int(time.time()) - 60
    states = census(stack.client("dynamodb"), [done["task_id"], failed["task_id"]], now=time.time()).states
    assert states == {done["task_id"]: COMPLETED, failed["task_id"]: RUNNING}


def test_sosws_stats_and_result_as_json_text_are_read_like_sosw(stack: EmbeddedStack, store: TaskStore) -> None:
    (event,) = invoked(store)

    answer, error = call(
        stack,
        "WorkerAssistantFunctionArn",
        {
            "action": "mark_task_as_completed",
            "task_id": event["task_id"],
            "stats": '{"rows": 12}',
            "result": '{"files": ["a", "b"]}',
        },
    )

    assert error is None
    assert (answer["accepted"], answer["where"]) == (True, "completed")
    stored = item(stack, event["task_id"])
    assert (stored["stat_rows"], stored["result_files"]) == (12, ["a", "b"])


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"action": "close_task", "task_id": "x"}, "Action `close_task` is not supported"),
        ({"action": "mark_task_as_completed"}, "Missing required parameter `task_id`"),
        ({"action": "mark_task_as_failed", "task_id": "x", "attempt": 0}, "`attempt` must be a positive integer"),
    ],
)
def test_an_event_sosw_would_reject_fails_the_invocation(stack: EmbeddedStack, event: Any, message: str) -> None:
    answer, error = call(stack, "WorkerAssistantFunctionArn", event)

    assert error == "Unhandled"
    assert answer["errorType"] == "InvalidReportError"
    assert message in answer["errorMessage"]
    assert list(all_items(stack.client("dynamodb"), TABLES.tasks)) == []


def test_a_report_for_an_unknown_task_writes_nothing_where_sosw_writes_a_ghost(stack: EmbeddedStack) -> None:
    answer, error = call(stack, "WorkerAssistantFunctionArn", {"action": "mark_task_as_completed", "task_id": "nope"})

    assert error is None
    assert (answer["accepted"], answer["reason"], answer["where"]) == (False, "unknown task", "unknown")
    assert list(all_items(stack.client("dynamodb"), TABLES.tasks)) == []

    # sosw's own WorkerAssistant, same event: an item with no labourer_id appears (bug 13)
    WorkerAssistant(custom_config={"meta_handler_config": {"write_meta_to_ddb": False}})(
        {"action": "mark_task_as_completed", "task_id": "ghost"}
    )
    (ghost,) = all_items(stack.client("dynamodb"), TABLES.tasks)
    assert "labourer_id" not in ghost
    answer, _ = call(stack, "WorkerAssistantFunctionArn", {"action": "mark_task_as_completed", "task_id": "ghost"})
    assert answer["reason"].startswith("unknown task (only a ghost item")


def test_late_reports_are_refused_with_where_the_task_is(stack: EmbeddedStack, store: TaskStore) -> None:
    clock = FakeClock(time.time())
    moves = TaskStore(stack.client("dynamodb"), TABLES, clock=clock)  # the Scavenger's moves, on a clock we hold
    twice, waiting, requeued, reinvoked, closed = invoked(store, 5, when=clock.now - 2000)
    assert store.mark_completed(twice["task_id"]).accepted
    for event, delay in ((waiting, 3600), (requeued, 0), (reinvoked, 0)):
        task = store.get_task(event["task_id"])
        assert task is not None
        assert moves.move_to_retry(task, delay=delay)
    clock.advance(1)
    assert len(moves.requeue_due_retries(LAB)) == 2  # requeued and reinvoked; waiting is not due
    assert moves.claim(reinvoked["task_id"], LAB, RunMarkers.at(clock.now, duration=900, cooldown=300)).claimed
    dead = store.get_task(closed["task_id"])
    assert dead is not None
    assert store.archive(dead, dead_reason="expired after 3 attempts")
    sent = {
        "twice": {"task_id": twice["task_id"]},
        "waiting": {"task_id": waiting["task_id"], "labourer_id": LAB},
        "requeued": {"task_id": requeued["task_id"], "labourer_id": LAB},
        "reinvoked": {"task_id": reinvoked["task_id"], "attempt": 1},
        "closed": {"task_id": closed["task_id"]},
    }

    answers = {
        name: call(stack, "WorkerAssistantFunctionArn", {"action": "mark_task_as_completed", **event})[0]
        for name, event in sent.items()
    }

    assert {name: answer["reason"] for name, answer in answers.items()} == {
        "twice": "late: task already completed",
        "waiting": "late: task is waiting for retry",
        "requeued": "late: task is queued again (retried)",
        "reinvoked": "late: attempt 1 reported, but the task is on attempt 2",
        "closed": "late: task is closed (dead)",
    }
    assert all(answer["late"] and not answer["accepted"] for answer in answers.values())
    assert "completed_at" not in item(stack, requeued["task_id"])
    assert "completed_at" not in item(stack, reinvoked["task_id"])


# ---- TaskDestination: Lambda destination records --------------------------------------------------------------------


def record(event: dict[str, Any], condition: str, response: Any, *, count: int = 1) -> dict[str, Any]:
    """A destination record as Lambda sends it."""
    failed = condition != "Success"
    return {
        "version": "1.0",
        "timestamp": "2024-01-01T00:00:00.000Z",
        "requestContext": {
            "requestId": "4f7c1d9e-0000-0000-0000-000000000000",
            "functionArn": f"{LAB_ARN}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": count,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            **({"functionError": "Unhandled"} if failed else {}),
        },
        "responsePayload": response,
    }


def test_destination_records_complete_and_fail_tasks(stack: EmbeddedStack, store: TaskStore) -> None:
    ok, broken, old = invoked(store, 3)

    success, _ = call(stack, "TaskDestinationFunctionArn", record(ok, "Success", {"rows": 3}))
    failure, _ = call(
        stack,
        "TaskDestinationFunctionArn",
        record(broken, "RetriesExhausted", {"errorType": "KeyError", "errorMessage": "'id'"}, count=3),
    )
    stale = dict(old, attempts=1)  # an event from a later invocation than the one the task is on
    refused, _ = call(stack, "TaskDestinationFunctionArn", record(stale, "Success", None))

    assert (success["accepted"], success["source"], success["attempt"]) == (True, "task_destination", 1)
    completed = item(stack, ok["task_id"])
    assert (completed["result_rows"], completed["stat_invoke_count"]) == (3, 1)
    assert failure["accepted"]
    assert failure["action"] == "mark_task_as_failed"
    reported = item(stack, broken["task_id"])
    assert (reported["failed_attempts"], reported["stat_invoke_count"]) == (1, 3)
    assert (reported["result_error_type"], reported["result_error_message"]) == ("KeyError", "'id'")
    assert (reported["result_condition"], reported["result_function_error"]) == ("RetriesExhausted", "Unhandled")
    assert refused["reason"] == "late: attempt 2 reported, but the task is on attempt 1"
    assert "completed_at" not in item(stack, old["task_id"])


def test_a_record_that_carries_no_task_is_ignored_not_retried(stack: EmbeddedStack) -> None:
    for event in ({"order": 7}, "not even an object"):
        answer, error = call(stack, "TaskDestinationFunctionArn", record(event, "Success", None))  # type: ignore[arg-type]
        assert error is None
        assert answer["ignored"] is True
    answer, error = call(stack, "TaskDestinationFunctionArn", {"hello": "world"})
    assert (error, answer["ignored"]) == (None, True)
    assert list(all_items(stack.client("dynamodb"), TABLES.tasks)) == []


# ---- the worker helper --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["worker_assistant", "dynamodb"])
def test_the_worker_helper_reports_both_ways(stack: EmbeddedStack, store: TaskStore, via: str) -> None:
    reporter = (
        Reporter(worker_assistant=stack.outputs["WorkerAssistantFunctionArn"], client=stack.client("lambda"))
        if via == "worker_assistant"
        else Reporter(tables=TABLES, client=stack.client("dynamodb"))
    )
    done, failed, gone = invoked(store, 3)
    store.mark_completed(gone["task_id"])

    assert reporter.complete(done, stats={"rows": 5}).accepted
    failure = reporter.fail(failed, error=ValueError("bad input"))
    late = reporter.complete(gone)

    assert failure.accepted
    assert failure.action == "mark_task_as_failed"
    assert (late.accepted, late.late, late.reason) == (False, True, "late: task already completed")
    assert item(stack, done["task_id"])["stat_rows"] == 5
    reported = item(stack, failed["task_id"])
    assert (reported["result_error_type"], reported["result_error_message"]) == ("ValueError", "bad input")
    assistant = stack.runtime.calls(stack.deployment.physical["WorkerAssistantFunction"])
    assert len(assistant) == (3 if via == "worker_assistant" else 0)
    if assistant:
        assert assistant[0].event == {
            "action": "mark_task_as_completed",
            "task_id": done["task_id"],
            "stats": {"rows": 5},
            "attempt": 1,
            "labourer_id": LAB,
        }


def test_the_decorator_completes_on_return_fails_on_exception_and_ignores_other_events(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    reporter = Reporter(worker_assistant=stack.outputs["WorkerAssistantFunctionArn"], client=stack.client("lambda"))

    @reports_completion(reporter=reporter)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event.get("number") == 1:
            raise RuntimeError("upstream down")
        return {"ok": True}

    ok, broken = invoked(store, 2)

    assert handler(ok, None) == {"ok": True}
    with pytest.raises(RuntimeError, match="upstream down"):
        handler(broken, None)
    assert handler({"not": "orchestrated"}, None) == {"ok": True}

    assert "completed_at" in item(stack, ok["task_id"])
    assert item(stack, broken["task_id"])["result_error_message"] == "upstream down"
    assert len(stack.runtime.calls(stack.deployment.physical["WorkerAssistantFunction"])) == 2


def test_an_undeliverable_report_raises_from_complete_but_never_from_the_decorator(
    stack: EmbeddedStack, store: TaskStore, caplog: pytest.LogCaptureFixture
) -> None:
    missing = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:no-such-assistant"
    reporter = Reporter(worker_assistant=missing, client=stack.client("lambda"))
    (event,) = invoked(store)

    with pytest.raises(ReportError, match="invoking the WorkerAssistant failed"):
        reporter.complete(event)

    @reports_completion(reporter=reporter)
    def handler(event: dict[str, Any], context: Any) -> str:
        return "done"

    assert handler(event, None) == "done"
    assert "could not report the task's outcome" in caplog.text
    assert "completed_at" not in item(stack, event["task_id"])


def test_the_reporter_is_configured_from_the_labourers_environment() -> None:
    by_function = Reporter.from_environment({"FOREMAN_WORKER_ASSISTANT": "arn:aws:lambda:x"})
    direct = Reporter.from_environment({"FOREMAN_TASKS_TABLE": "tasks", "FOREMAN_RETRY_TASKS_TABLE": "retry"})

    assert (by_function.worker_assistant, by_function.tables) == ("arn:aws:lambda:x", None)
    assert direct.tables == Tables(tasks="tasks", retry="retry")
    with pytest.raises(ValueError, match="FOREMAN_WORKER_ASSISTANT"):
        Reporter.from_environment({})


def test_a_task_read_back_is_the_task_that_was_reported(stack: EmbeddedStack, store: TaskStore) -> None:
    (event,) = invoked(store)
    Reporter(tables=TABLES, client=stack.client("dynamodb")).complete(event["task_id"], result={"n": 1})

    (completed,) = store.completed_tasks(LAB)

    assert isinstance(completed, Task)
    assert (completed.task_id, completed.attempts, completed.attributes["result_n"]) == (event["task_id"], 1, 1)
