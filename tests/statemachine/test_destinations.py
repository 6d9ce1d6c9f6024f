"""Completion through Lambda destinations: a labourer with no completion code closes its tasks.

The labourer's EventInvokeConfig sends OnSuccess / OnFailure records to the stack's TaskDestination function; the
embedded stack's Lambda runtime behaves like Lambda's asynchronous invocation (retries, then the record).
"""

from __future__ import annotations

import time
from typing import Any

from foreman.local.stack import EmbeddedStack
from foreman_core.task_store import TaskStore
from tests.conservation import CLOSED_COMPLETED, COMPLETED, RETRY_WAITING, RUNNING, assert_conserved
from tests.statemachine.conftest import labourer_config, report_for, scavenged

LAB = "worker-a"


def plain_labourer(event: dict[str, Any], context: Any) -> dict[str, int]:
    """No Foreman code at all: works on even numbers, raises on odd ones."""
    if event["number"] % 2:
        raise ValueError(f"cannot handle {event['number']}")
    return {"rows": event["number"] * 10}


def with_destinations(stack: EmbeddedStack, name: str, **config: Any) -> None:
    destination = stack.outputs["TaskDestinationFunctionArn"]
    stack.client("lambda").put_function_event_invoke_config(
        FunctionName=name,
        DestinationConfig={"OnSuccess": {"Destination": destination}, "OnFailure": {"Destination": destination}},
        **config,
    )


def test_a_labourer_with_destinations_and_no_worker_code_closes_its_tasks(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    arn = stack.add_function(LAB, plain_labourer)
    with_destinations(stack, LAB, MaximumRetryAttempts=0)
    stack.put_config({"task_config": {"labourers": {LAB: labourer_config(arn, 10, max_duration=30)}}})
    tasks = store.create_tasks(LAB, [{"number": n} for n in range(6)])
    ids = [task.task_id for task in tasks]
    now = time.time()

    assert report_for(stack.run({"now": now}).output, LAB)["invoked"] == 6

    census = assert_conserved(stack.client("dynamodb"), ids, now=now, expected={COMPLETED: 3, RUNNING: 3})
    for n, task_id in enumerate(ids):
        item = census.items[task_id]
        if n % 2 == 0:
            assert item["result_rows"] == n * 10
        else:
            assert (item["failed_attempts"], item["result_error_type"]) == (1, "ValueError")
            assert item["result_error_message"] == f"cannot handle {n}"
        assert item["stat_invoke_count"] == 1
    assert len(stack.runtime.calls(LAB)) == 6  # MaximumRetryAttempts 0: one run per invocation (sosw issue #108)

    output = stack.run({"now": now + 1}, state_machine="ScavengerArn").output
    (line,) = scavenged(output)

    assert (line["archived"], line["retried"], line["failures_reported"]) == (3, 3, 3)
    census = assert_conserved(
        stack.client("dynamodb"), ids, now=now + 1, expected={CLOSED_COMPLETED: 3, RETRY_WAITING: 3}
    )
    assert census.in_state(CLOSED_COMPLETED) == {ids[n] for n in (0, 2, 4)}


def test_destination_records_have_lambdas_shape(stack: EmbeddedStack, store: TaskStore) -> None:
    arn = stack.add_function(LAB, plain_labourer)
    with_destinations(stack, LAB, MaximumRetryAttempts=0)
    stack.put_config({"task_config": {"labourers": {LAB: labourer_config(arn, 10)}}})
    store.create_tasks(LAB, [{"number": 0}, {"number": 1}])

    stack.run()

    success, failure = sorted(
        (record for _, record in stack.runtime.destination_records),
        key=lambda record: record["requestPayload"]["number"],
    )
    assert set(success) == {
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    }
    assert success["version"] == "1.0"
    assert success["timestamp"].endswith("Z")
    assert success["requestContext"]["functionArn"] == f"{arn}:$LATEST"
    assert (success["requestContext"]["condition"], success["requestContext"]["approximateInvokeCount"]) == (
        "Success",
        1,
    )
    assert success["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert success["responsePayload"] == {"rows": 0}
    assert {"task_id", "labourer_id", "attempts", "greenfield", "created_at"} <= set(success["requestPayload"])
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert (failure["responsePayload"]["errorType"], failure["responsePayload"]["errorMessage"]) == (
        "ValueError",
        "cannot handle 1",
    )
    assert {destination for destination, _ in stack.runtime.destination_records} == {
        stack.outputs["TaskDestinationFunctionArn"]
    }


def test_lambdas_default_async_retries_run_a_failing_labourer_three_times(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Without MaximumRetryAttempts: 0, Lambda itself runs the failed event twice more (sosw issue #108)
    arn = stack.add_function(LAB, plain_labourer)
    with_destinations(stack, LAB)
    stack.put_config({"task_config": {"labourers": {LAB: labourer_config(arn, 10)}}})
    (task,) = store.create_tasks(LAB, [{"number": 1}])

    stack.run()

    assert len(stack.runtime.calls(LAB)) == 3
    stored = store.get_task(task.task_id)
    assert stored is not None
    assert (stored.attributes["stat_invoke_count"], stored.attributes["failed_attempts"]) == (3, 1)


def test_a_labourer_without_an_event_invoke_config_is_run_once_and_sends_nothing(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    arn = stack.add_function(LAB, plain_labourer)
    stack.put_config({"task_config": {"labourers": {LAB: labourer_config(arn, 10)}}})
    (task,) = store.create_tasks(LAB, [{"number": 1}])

    line = report_for(stack.run().output, LAB)

    # an asynchronous invoke succeeds whatever the handler does: the claim stands (no release), as on AWS
    assert (line["invoked"], line["released"]) == (1, 0)
    assert len(stack.runtime.calls(LAB)) == 1
    assert stack.runtime.destination_records == []
    stored = store.get_task(task.task_id)
    assert stored is not None
    assert "failed_attempts" not in stored.attributes


def test_a_destination_that_cannot_take_the_record_never_fails_the_invocation(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    arn = stack.add_function(LAB, plain_labourer)
    missing = arn.replace(LAB, "no-such-destination")
    stack.client("lambda").put_function_event_invoke_config(
        FunctionName=LAB, MaximumRetryAttempts=0, DestinationConfig={"OnSuccess": {"Destination": missing}}
    )
    stack.put_config({"task_config": {"labourers": {LAB: labourer_config(arn, 10)}}})
    store.create_tasks(LAB, [{"number": 0}])

    line = report_for(stack.run().output, LAB)

    assert (line["invoked"], line["released"]) == (1, 0)
    assert [destination for destination, _ in stack.runtime.destination_records] == [missing]
