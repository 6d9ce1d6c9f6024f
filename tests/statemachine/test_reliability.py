"""Reliability: the real Orchestrator under faults, overlap and bad input, each run ending with the conservation check.

Every test ends with ``assert_conserved``: every created task is in exactly one place (queued, running, retry-waiting,
closed), none lost, none duplicated; and no task was invoked more often than its ``attempts`` say.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ReadTimeoutError

from foreman.local.stack import EmbeddedStack, environment
from foreman_core.greenfield import RunMarkers
from foreman_core.task_store import TaskStore
from tests.conservation import CLOSED_DEAD, QUEUED, RUNNING, assert_conserved
from tests.faults import cloudwatch_fault, dynamodb_fault, is_claim
from tests.statemachine.conftest import (
    FETCH_FUNCTION,
    FakeLabourer,
    cpu_metric,
    hold_after_fetch,
    labourer_config,
    report_for,
    seed_cpu,
)


def _single_labourer(stack: EmbeddedStack, fake: FakeLabourer, cap: int, name: str = "worker-a") -> None:
    stack.put_config({"task_config": {"labourers": {name: labourer_config(stack.add_function(name, fake), cap)}}})


def _no_double_invocations(store: TaskStore, *fakes: FakeLabourer) -> None:
    """Each task was invoked at most as often as its attempts count says (a retry is the only licence to rerun)."""
    invoked = Counter(task_id for fake in fakes for task_id in fake.task_ids)
    for task_id, times in invoked.items():
        task = store.get_task(task_id)
        assert task is not None
        assert times <= task.attempts, f"{task_id} invoked {times}x with attempts {task.attempts}"


# -- faults ---------------------------------------------------------------------------------------------------------


def test_a_run_with_every_invoke_throttled_releases_every_task_in_one_run_within_every_history_limit(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given 600 queued tasks, a labourer with room for all of them, and Lambda throttling every invoke (4 attempts
    # each, then a release): the most history events a task can cost but for claim and release retries, 28 a task,
    # about 17,000 for the run. The embedded stack fails a Standard execution at 25,000 events, as Step Functions does.
    fake = FakeLabourer()
    _single_labourer(stack, fake, 5000)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(600)])]
    stack.runtime.add_fault("worker-a", "TooManyRequestsException")

    with environment({"FOREMAN_GROUP_TASKS": "250"}):
        execution = stack.wait(stack.start(), check=False)

    # Then the run succeeds, every task released and none invoked, over three children
    assert execution.status == "SUCCEEDED"
    line = report_for(execution.output, "worker-a")
    assert line["fetched"] == line["released"] == 600
    assert line["invoked"] == 0
    assert fake.events == []
    # and the run's Standard executions stay small whatever the tasks: the Express children carry the events
    run_wide = [len(execution.parts[arn]) for arn in (execution.arn, execution.invocations)]
    children = len(execution.parts) - 2
    print(
        f"\n600 tasks, every invoke throttled: {execution.events} events in all; run-wide {run_wide}; "
        f"{children} children"
    )
    assert children == 3
    assert max(run_wide) < 100
    assert execution.events > 600 * 20
    assert_conserved(stack.client("dynamodb"), created, now=time.time(), expected={QUEUED: 600})


def test_throttled_claims_are_retried_and_every_task_invoked_once(stack: EmbeddedStack, store: TaskStore) -> None:
    fake = FakeLabourer()
    _single_labourer(stack, fake, 6)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(6)])]

    throttled: Counter[str] = Counter()

    def first_two_of_each_claim(*args: Any, **kwargs: Any) -> bool:
        # every claim is throttled twice, then goes through: within its retrier's 4 retries whatever the timing
        if not is_claim(*args, **kwargs):
            return False
        key = kwargs["key"] if "key" in kwargs else args[1]  # moto's update_item(table_name, key, ...)
        task_id = str(key["task_id"]["S"])
        throttled[task_id] += 1
        return throttled[task_id] <= 2

    with dynamodb_fault("update_item", "ProvisionedThroughputExceededException", when=first_two_of_each_claim) as fault:
        output = stack.run().output

    assert fault.raised == 12
    assert report_for(output, "worker-a")["invoked"] == 6
    assert sorted(fake.task_ids) == sorted(created)
    assert_conserved(stack.client("dynamodb"), created, now=time.time(), expected={RUNNING: 6})
    _no_double_invocations(store, fake)


def test_claims_throttled_for_good_leave_the_tasks_queued(stack: EmbeddedStack, store: TaskStore) -> None:
    fake = FakeLabourer()
    _single_labourer(stack, fake, 3)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(3)])]

    with dynamodb_fault("update_item", "ProvisionedThroughputExceededException", when=is_claim):
        output = stack.run().output

    line = report_for(output, "worker-a")
    assert (line["invoked"], line["failed"]) == (0, 3)
    assert line["errors"] == {"DynamoDB.ProvisionedThroughputExceededException": 3}
    assert fake.events == []
    assert_conserved(stack.client("dynamodb"), created, now=time.time(), expected={QUEUED: 3})


@pytest.mark.parametrize(
    ("code", "status", "times", "invoked", "released", "unsure"),
    [
        ("ServiceException", 500, 2, 2, 0, 2),  # ambiguous (the event may be queued): neither retried nor released
        ("TooManyRequestsException", 429, 3, 4, 0, 0),  # throttled: surely not queued, so retried, then through
        ("ResourceConflictException", 409, 3, 4, 0, 0),  # the function being updated: the same
        ("TooManyRequestsException", 429, None, 0, 4, 0),  # throttled for good: released, queued again
    ],
)
def test_lambda_errors_and_throttles(  # noqa: PLR0917 - pytest parameters
    stack: EmbeddedStack,
    store: TaskStore,
    code: str,
    status: int,
    times: int | None,
    invoked: int,
    released: int,
    unsure: int,
) -> None:
    fake = FakeLabourer()
    _single_labourer(stack, fake, 4)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(4)])]
    stack.runtime.add_fault("worker-a", code, status=status, times=times)

    line = report_for(stack.run().output, "worker-a")

    assert (line["invoked"], line["released"], line["unsure"]) == (invoked, released, unsure)
    assert len(fake.events) == invoked
    running = invoked + unsure  # an unsure task stays claimed: if its event never arrives, it expires and is retried
    assert_conserved(stack.client("dynamodb"), created, now=time.time(), expected={RUNNING: running, QUEUED: released})
    _no_double_invocations(store, fake)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(lambda: ReadTimeoutError(endpoint_url="https://monitoring.us-east-1.amazonaws.com"), id="timeout"),
        pytest.param(lambda: _cloudwatch_error("InternalServiceError", 500), id="internal-error"),
        pytest.param(lambda: _cloudwatch_error("Throttling", 400), id="throttled"),
    ],
)
def test_cloudwatch_failures_fail_safe_for_the_watching_labourer_only(
    stack: EmbeddedStack, store: TaskStore, error: Any
) -> None:
    watched, free = FakeLabourer(), FakeLabourer()
    stack.put_config(
        {
            "task_config": {
                "labourers": {
                    "worker-a": labourer_config(
                        stack.add_function("worker-a", watched), 3, health_metrics={"cpu": cpu_metric("db", {4: 50})}
                    ),
                    "worker-b": labourer_config(stack.add_function("worker-b", free), 3),
                }
            }
        }
    )
    seed_cpu(stack, "db", 10)
    created = [t.task_id for name in ("worker-a", "worker-b") for t in store.create_tasks(name, [{}, {}, {}])]

    with cloudwatch_fault(error) as fault:
        output = stack.run().output

    assert fault.raised >= 1
    blind = report_for(output, "worker-a")
    assert (blind["status"], blind["invoked"]) == (0, 0)
    assert blind["set_by"] == "cpu"  # the metric that could not be read (its reading is in ComputeEcology's log)
    assert report_for(output, "worker-b")["invoked"] == 3
    assert_conserved(stack.client("dynamodb"), created, now=time.time(), expected={QUEUED: 3, RUNNING: 3})


def test_a_labourer_deleted_mid_run_spends_the_attempts_of_its_claims(stack: EmbeddedStack, store: TaskStore) -> None:
    kept, doomed = FakeLabourer(), FakeLabourer()
    stack.put_config(
        {
            "task_config": {
                "labourers": {
                    "worker-a": labourer_config(stack.add_function("worker-a", kept), 3),
                    "worker-b": labourer_config(stack.add_function("worker-b", doomed), 3),
                }
            }
        }
    )
    created = [t.task_id for name in ("worker-a", "worker-b") for t in store.create_tasks(name, [{}, {}, {}])]

    def fetch_then_delete(real: Any, event: Any, context: Any) -> Any:
        result = real(event, context)
        stack.client("lambda").delete_function(FunctionName="worker-b")  # between fetch and invoke
        return result

    stack.runtime.wrap(FETCH_FUNCTION, fetch_then_delete)
    output = stack.run().output

    assert report_for(output, "worker-a")["invoked"] == 3
    gone = report_for(output, "worker-b")
    # refused for good: each attempt is spent and recorded as failed, for the Scavenger to retry after its delay or
    # close as dead once out of attempts (a task released on every run for ever would never be noticed)
    assert (gone["invoked"], gone["released"], gone["failed"]) == (0, 0, 3)
    assert gone["errors"] == {"Lambda.ResourceNotFoundException": 3}
    assert doomed.events == []
    assert_conserved(stack.client("dynamodb"), created, now=time.time(), expected={RUNNING: 6})
    assert len(store.failed_tasks("worker-b", RunMarkers.at(time.time(), duration=900, cooldown=300))) == 3


# -- concurrency ----------------------------------------------------------------------------------------------------


def test_ten_executions_at_once_invoke_every_task_exactly_once(stack: EmbeddedStack, store: TaskStore) -> None:
    fake = FakeLabourer(work_seconds=0.01)
    _single_labourer(stack, fake, 12)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(12)])]
    hold_after_fetch(stack, 10)  # all ten get past FetchGreenfieldTasks before any claims
    now = time.time()
    arns = [stack.start(execution_input={"now": now}) for _ in range(10)]
    lines = [report_for(stack.wait(arn, timeout=300).output, "worker-a") for arn in arns]

    # one took the lease and fetched and invoked all twelve; the nine others were busy and fetched nothing
    assert sorted(line["fetched"] for line in lines) == [0] * 9 + [12]
    assert sum(line["invoked"] for line in lines) == 12
    assert sum(1 for line in lines if line["busy"]) == 9
    assert sorted(Counter(fake.task_ids).values()) == [1] * 12
    assert_conserved(stack.client("dynamodb"), created, now=time.time(), expected={RUNNING: 12})
    _no_double_invocations(store, fake)


# -- bad input ------------------------------------------------------------------------------------------------------


def test_bad_tasks_are_set_aside_with_their_reason_and_the_rest_run(stack: EmbeddedStack, store: TaskStore) -> None:
    fake = FakeLabourer()
    _single_labourer(stack, fake, 10)
    good = [task.task_id for task in store.create_tasks("worker-a", [{"n": 1}, {"n": 2}])]
    client = stack.client("dynamodb")
    bad = {
        "not-json": {"payload": {"S": "{not json"}},
        "a-list": {"payload": {"S": "[1, 2, 3]"}},
        "oversized": {"payload": {"S": '{"blob": "' + "x" * 300_000 + '"}'}},
        "no-payload": {},
        "no-attempts": {"payload": {"S": "{}"}, "attempts": None},
        "no-created-at": {"payload": {"S": "{}"}, "created_at": None},
    }
    for position, (task_id, attributes) in enumerate(bad.items(), start=1):
        item = {
            "task_id": {"S": task_id},
            "labourer_id": {"S": "worker-a"},
            "greenfield": {"N": str(100 + position)},  # ahead of the good tasks
            "attempts": {"N": "0"},
            "created_at": {"N": "1700000000"},
            **{k: v for k, v in attributes.items() if v is not None},
        }
        for key in [k for k, v in attributes.items() if v is None]:
            item.pop(key)
        client.put_item(TableName="sosw_tasks", Item=item)

    output = stack.run().output

    line = report_for(output, "worker-a")
    reasons = {entry["task_id"]: entry["reason"] for entry in line["set_aside"]}
    assert set(reasons) == set(bad)
    assert "JSON" in reasons["not-json"]
    assert "object" in reasons["a-list"]
    assert "larger than" in reasons["oversized"]
    assert "payload" in reasons["no-payload"]
    assert "attempts" in reasons["no-attempts"]
    assert "created_at" in reasons["no-created-at"]
    assert line["invoked"] == 2
    assert sorted(fake.task_ids) == sorted(good)
    census = assert_conserved(client, [*good, *bad], now=time.time(), expected={RUNNING: 2, CLOSED_DEAD: 6})
    assert all("set aside" in census.items[task_id]["close_reason"] for task_id in bad)


def test_tasks_of_an_unknown_labourer_are_left_alone(stack: EmbeddedStack, store: TaskStore) -> None:
    fake = FakeLabourer()
    _single_labourer(stack, fake, 5)
    mine = [task.task_id for task in store.create_tasks("worker-a", [{}, {}])]
    strays = [task.task_id for task in store.create_tasks("nobody-configures-me", [{}, {}, {}])]

    output = stack.run().output

    assert list(output["labourers"]) == ["worker-a"]
    assert report_for(output, "worker-a")["invoked"] == 2
    assert_conserved(stack.client("dynamodb"), [*mine, *strays], now=time.time(), expected={RUNNING: 2, QUEUED: 3})


def _cloudwatch_error(code: str, status: int) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(code, f"injected fault: {code}")
    error.code = status
    return error


def test_a_claim_whose_answer_was_lost_is_recognised_by_its_retry(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given DynamoDB applying the first claim of each task and then answering InternalServerError (the answer lost)
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
    from moto.dynamodb.models import DynamoDBBackend

    fake = FakeLabourer()
    _single_labourer(stack, fake, 4)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(4)])]
    original = DynamoDBBackend.update_item
    lost: list[str] = []

    def applied_then_lost(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        key = kwargs.get("key") or args[1]
        if is_claim(*args, **kwargs) and str(key) not in lost:
            lost.append(str(key))
            error = DynamodbException(ERROR_TYPE_PREFIX + "InternalServerError", "injected: the write applied")
            error.code = 500
            raise error
        return result

    with mock.patch.object(DynamoDBBackend, "update_item", applied_then_lost):
        output = stack.run().output

    # Then each retry found its own write: every task invoked exactly once, with attempts 1 (not skipped, not 2)
    assert len(lost) == 4
    line = report_for(output, "worker-a")
    assert (line["invoked"], line["skipped"], line["failed"]) == (4, 0, 0)
    assert sorted(fake.task_ids) == sorted(created)
    assert [event["attempts"] for event in fake.events] == [0, 0, 0, 0]  # sosw's contract: the pre-claim attempts
    assert {store.get_task(task_id).attempts for task_id in created} == {1}  # type: ignore[union-attr]
    assert_conserved(stack.client("dynamodb"), created, now=time.time(), expected={RUNNING: 4})
    _no_double_invocations(store, fake)


def test_an_invoke_the_local_runtime_fails_to_make_is_unsure(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given the embedded Lambda runtime itself failing on the labourer's invokes (not the labourer's code: a bug or a
    # broken function package), which once came back as an HTML 500 and left phantom running tasks
    from foreman.local.lambda_runtime import LambdaRuntime

    fake = FakeLabourer()
    _single_labourer(stack, fake, 3)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(3)])]
    real_run = LambdaRuntime._run

    def broken(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if fn.function_name == "worker-a":
            raise RuntimeError("the runtime broke")
        return real_run(self, fn, *args, **kwargs)

    with mock.patch.object(LambdaRuntime, "_run", broken):
        output = stack.run().output

    # Then each invoke failed as the Lambda service would (a ServiceException, which may mean the event was queued):
    # reported unsure, neither retried nor released, so no attempt can be sent twice; each stays claimed until it
    # expires and the Scavenger retries it
    line = report_for(output, "worker-a")
    assert (line["invoked"], line["released"], line["unsure"]) == (0, 0, 3)
    assert line["errors"] == {"Lambda.ServiceException": 3}
    assert fake.events == []
    assert_conserved(stack.client("dynamodb"), created, now=time.time(), expected={RUNNING: 3})
