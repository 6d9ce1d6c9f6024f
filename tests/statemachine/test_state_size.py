"""A run's largest state stays within 256 KiB at its worst: long task ids whose every outcome is a failure.

Step Functions fails an execution whose state passes 256 KiB (``States.DataLimitExceeded``, which no catcher takes).
InvokeTasks' output holds a labourer's claim items and their outcomes side by side, so the bound must count both
(``run_limits``). These runs are the issue's (#22, item 11): 300-character ids with every invoke throttled on
Standard, and on Express a budget of 1,250 with 100-character ids and every claim throttled.
"""

from __future__ import annotations

import pytest

from foreman.local.stack import STATE_LIMIT_BYTES, EmbeddedStack
from foreman_core.task_store import TaskStore
from tests.faults import dynamodb_fault, is_claim
from tests.statemachine.conftest import FakeLabourer, labourer_config, report_for

pytestmark = pytest.mark.slow


def _queue(store: TaskStore, labourer_id: str, count: int, id_length: int) -> None:
    for number in range(count):
        prefix = f"{number:05d}-"
        store.create_task(labourer_id, {"n": number}, task_id=prefix + "x" * (id_length - len(prefix)))


@pytest.mark.parametrize("orchestrator_type", ["STANDARD"])
def test_long_ids_whose_invokes_are_all_throttled_keep_every_state_within_256_kib(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given 450 queued tasks (the Standard budget) with 300-character ids, for a labourer whose every invoke is
    # throttled (each task ends "released" with the error's name beside its id)
    fake = FakeLabourer()
    arn = stack.add_function("worker-a", fake)
    stack.put_config({"task_config": {"labourers": {"worker-a": labourer_config(arn, 450)}}})
    _queue(store, "worker-a", 450, 300)
    stack.runtime.add_fault("worker-a", "TooManyRequestsException", status=429)

    execution = stack.run()

    # Then the run succeeds: every state within 256 KiB as Step Functions measures it, the tasks it could not
    # hold deferred (still queued), none invoked, every one taken released
    largest = execution.largest_state_bytes(compact=True)
    line = report_for(execution.output, "worker-a")
    print(f"\nSTANDARD, 300-character ids, invokes throttled: {line}, largest state {largest:,} bytes")
    assert largest <= STATE_LIMIT_BYTES
    assert fake.events == []
    assert line["released"] == line["fetched"] > 0
    assert line["fetched"] + line.get("deferred", 0) == 450
    assert store.queue_length("worker-a", start=2**40) == 450


@pytest.mark.parametrize("orchestrator_type", ["EXPRESS"])
def test_an_express_run_at_its_largest_budget_whose_claims_are_all_throttled_keeps_every_state_within_256_kib(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given an Express Orchestrator at its largest budget (1,250), 1,250 queued tasks with 100-character ids, and
    # every claim throttled (each task ends "claim_failed" with the error's name beside its id)
    fake = FakeLabourer()
    arn = stack.add_function("worker-a", fake)
    stack.put_config(
        {"task_config": {"labourers": {"worker-a": labourer_config(arn, 1250)}}, "max_tasks_per_execution": 1250}
    )
    _queue(store, "worker-a", 1250, 100)

    with dynamodb_fault("update_item", "ProvisionedThroughputExceededException", when=is_claim) as fault:
        execution = stack.run()

    # Then the run succeeds within 256 KiB, every task taken reported claim_failed and still queued
    largest = execution.largest_state_bytes(compact=True)
    line = report_for(execution.output, "worker-a")
    print(f"\nEXPRESS 1,250, 100-character ids, claims throttled: {line}, largest state {largest:,} bytes")
    assert fault.raised > 0
    assert largest <= STATE_LIMIT_BYTES
    assert fake.events == []
    assert line["failed"] == line["fetched"] > 0
    assert line["fetched"] + line.get("deferred", 0) == 1250
    assert store.queue_length("worker-a", start=2**40) == 1250
