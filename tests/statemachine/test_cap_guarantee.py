"""The cap is a guarantee: whatever the number and timing of overlapping executions, a labourer never has more tasks
in flight than its ``max_simultaneous_invocations`` (the Orchestrator lease, ``foreman_core.lease``).

Without the lease (measured on the code before it): 10 executions started 0-0.4 s apart put 19-20 tasks in flight
for a cap of 10. Every test here runs the real Orchestrator of ``template.yaml`` on the embedded stack.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest

from foreman.local.stack import EmbeddedStack, ExecutionFailedError
from foreman_core import lease
from foreman_core.greenfield import RunMarkers
from foreman_core.task_store import TaskStore
from tests.conservation import QUEUED, RUNNING, assert_conserved
from tests.faults import dynamodb_fault
from tests.statemachine.conftest import (
    FETCH_FUNCTION,
    FakeLabourer,
    both_orchestrator_types,
    hold_after_fetch,
    labourer_config,
    report_for,
)

pytestmark = both_orchestrator_types  # every test on a Standard and on an Express Orchestrator

CAP = 10
NEVER_COMPLETES = {"duration": 3600, "cooldown": 0}
"""Tasks stay in flight for an hour: nothing completes during the test, so what is in flight only grows."""


def _configure(stack: EmbeddedStack, fake: FakeLabourer, cap: int = CAP) -> None:
    arn = stack.add_function("worker-a", fake)
    stack.put_config({"task_config": {"labourers": {"worker-a": labourer_config(arn, cap, **NEVER_COMPLETES)}}})


TASKS_TABLE = "sosw_tasks"


def _in_flight(store: TaskStore, now: float) -> int:
    return store.count_running("worker-a", RunMarkers.at(now, duration=3600, cooldown=0))


def _lease_item(stack: EmbeddedStack) -> dict[str, Any]:
    item: dict[str, Any] = (
        stack.client("dynamodb").get_item(TableName=TASKS_TABLE, Key=lease.lease_key(), ConsistentRead=True).get("Item")
        or {}
    )
    return item


def _lease_holder(stack: EmbeddedStack) -> str | None:
    """The run holding the lease now (``None``: free, given back or never taken)."""
    holder: str | None = _lease_item(stack).get("run", {}).get("S")
    return holder


def test_ten_staggered_executions_never_exceed_the_cap(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given one labourer with cap 10 whose tasks never complete, and 400 queued tasks
    fake = FakeLabourer()
    _configure(stack, fake)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(400)])]
    rng = random.Random(10)

    # When ten executions start one after another, 0-0.4 s apart (no barrier), each running to its end
    arns = []
    for _ in range(10):
        arns.append(stack.start())
        time.sleep(rng.uniform(0, 0.4))
    outputs = [stack.wait(arn).output for arn in arns]

    # Then exactly the cap is in flight and was invoked, each task once; every run reported what it did
    now = time.time()
    assert _in_flight(store, now) == CAP
    assert len(fake.task_ids) == len(set(fake.task_ids)) == CAP
    lines = [report_for(output, "worker-a") for output in outputs]
    assert sum(line["invoked"] for line in lines) == CAP
    for output, line in zip(outputs, lines, strict=True):
        if line["busy"]:  # it found another execution claiming: it claimed nothing and named the holder
            assert line["invoked"] == line["fetched"] == 0
            assert output["lease"]["held"] is False
            assert output["lease"]["holder"] in arns
        else:
            assert output["lease"]["held"] is True
            assert output["lease"]["returned"] is True
    assert_conserved(stack.client("dynamodb"), created, now=now, expected={RUNNING: CAP, QUEUED: 400 - CAP})
    assert _lease_holder(stack) is None  # every holder gave it back


def test_executions_held_together_after_fetching_never_exceed_the_cap(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given six executions that all get past FetchGreenfieldTasks before any of them claims (a barrier)
    fake = FakeLabourer()
    _configure(stack, fake)
    store.create_tasks("worker-a", [{"n": i} for i in range(60)])
    hold_after_fetch(stack, 6)

    outputs = [stack.wait(arn).output for arn in [stack.start() for _ in range(6)]]

    # Then one of them claimed and invoked the cap; the five others were busy and claimed nothing
    lines = [report_for(output, "worker-a") for output in outputs]
    assert sorted(line["invoked"] for line in lines) == [0, 0, 0, 0, 0, CAP]
    assert sum(1 for line in lines if line["busy"]) == 5
    assert len(set(fake.task_ids)) == len(fake.task_ids) == CAP
    assert _in_flight(store, time.time()) == CAP


def test_the_same_tick_started_twice_invokes_each_task_once_and_keeps_the_cap(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given the schedule's start of one tick delivered twice (an asynchronous Express start is at-least-once, and
    # the scheduler retries a start): two executions with the same input, overlapping (held after fetching)
    fake = FakeLabourer()
    _configure(stack, fake)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(30)])]
    hold_after_fetch(stack, 2)
    tick = {"now": time.time()}

    outputs = [stack.wait(arn).output for arn in [stack.start(execution_input=tick) for _ in range(2)]]

    # Then the duplicate is harmless: one run invoked the cap, the other found the lease taken and invoked nothing
    busy, worked = sorted(outputs, key=lambda output: report_for(output, "worker-a")["invoked"])
    assert [report_for(output, "worker-a")["invoked"] for output in (busy, worked)] == [0, CAP]
    assert report_for(busy, "worker-a")["busy"]["holder"] == worked["execution"]  # it names who held the lease
    assert len(fake.task_ids) == len(set(fake.task_ids)) == CAP  # no task invoked twice
    assert_conserved(stack.client("dynamodb"), created, now=time.time(), expected={RUNNING: CAP, QUEUED: 30 - CAP})
    assert _lease_holder(stack) is None


def test_overlap_with_random_timing_keeps_in_flight_within_the_cap(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given a cap of 4 and executions started from several threads at random moments, while tasks keep arriving
    fake = FakeLabourer(work_seconds=0.01)
    _configure(stack, fake, cap=4)
    store.create_tasks("worker-a", [{"n": i} for i in range(40)])
    rng = random.Random(7)
    errors: list[BaseException] = []
    peaks: list[int] = []

    def runner(seed: int) -> None:
        local = random.Random(seed)
        try:
            for _ in range(3):
                time.sleep(local.uniform(0, 0.3))
                stack.wait(stack.start())
                peaks.append(_in_flight(store, time.time()))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=runner, args=(rng.randrange(1 << 30),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(5):
        store.create_tasks("worker-a", [{"late": True}])
        time.sleep(rng.uniform(0, 0.2))
    for thread in threads:
        thread.join()

    assert errors == []
    assert max(peaks) == 4  # reached, never passed
    assert len(fake.task_ids) == len(set(fake.task_ids)) == 4


def test_a_lease_held_elsewhere_makes_the_run_busy_until_it_expires(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given a lease left by an execution that died (never given back), expiring in 60 s
    fake = FakeLabourer()
    _configure(stack, fake)
    store.create_tasks("worker-a", [{"n": i} for i in range(3)])
    dead = "arn:aws:states:us-east-1:123456789012:execution:foreman-Orchestrator:killed"
    taken = lease.take(
        stack.client("dynamodb"), TASKS_TABLE, run="run-killed", execution=dead, now=time.time(), seconds=60
    )
    assert taken.held

    # When a run starts while it holds, and another after it expired
    busy = stack.run().output
    assert _lease_holder(stack) == "run-killed"
    stack.client("dynamodb").update_item(
        TableName=TASKS_TABLE,
        Key=lease.lease_key(),
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    free = stack.run().output

    # Then the first invoked nothing and said who holds the lease until when; the second took it and ran
    line = report_for(busy, "worker-a")
    assert (line["invoked"], line["desired"], line["busy"]["holder"]) == (0, 0, dead)
    assert busy["lease"] == {"held": False, "execution": busy["execution"], "holder": dead,
                             "expires_at": taken.expires_at, "returned": False}  # fmt: skip
    assert report_for(free, "worker-a")["invoked"] == 3
    assert free["lease"]["returned"] is True
    assert _lease_holder(stack) is None


def test_a_failed_fetch_gives_the_lease_back_and_fails_the_run(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given a FetchGreenfieldTasks step that fails (its own error, not a Lambda service error)
    _configure(stack, FakeLabourer())
    store.create_tasks("worker-a", [{"n": 1}])

    def broken(real: Any, event: Any, context: Any) -> Any:
        raise RuntimeError("fetch broke")

    stack.runtime.wrap(FETCH_FUNCTION, broken)

    with pytest.raises(ExecutionFailedError) as failed:
        stack.run()

    # Then the run failed with the step's error, and the next run is not blocked by its lease
    assert failed.value.execution["error"] == "RuntimeError"
    assert "fetch broke" in failed.value.execution["cause"]
    assert _lease_item(stack)["last_run"]["S"].startswith("run-")  # it was taken, then given back
    assert _lease_holder(stack) is None


def test_a_failed_ecology_step_gives_the_lease_back(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given a count of running tasks that fails after the lease was taken (every query fails: ComputeEcology's count
    # of running tasks is the run's first)
    _configure(stack, FakeLabourer())
    store.create_tasks("worker-a", [{"n": 1}])

    with (
        dynamodb_fault("query", "ValidationException") as fault,
        pytest.raises(ExecutionFailedError),
    ):
        stack.run()

    assert fault.raised >= 1
    assert _lease_item(stack)["last_run"]["S"].startswith("run-")
    assert _lease_holder(stack) is None


def test_a_lease_lost_to_expiry_is_not_given_back_by_its_old_holder(stack: EmbeddedStack) -> None:
    # The lease's own contract, on the stack's table: only the holder gives it back; an expired lease is taken over
    client = stack.client("dynamodb")
    now = time.time()
    first = lease.take(client, TASKS_TABLE, run="a", execution="exec-a", now=now, seconds=10)
    second = lease.take(client, TASKS_TABLE, run="b", execution="exec-b", now=now + 1, seconds=10)
    again = lease.take(client, TASKS_TABLE, run="a", execution="exec-a", now=now + 2, seconds=10)  # a retried step
    after_expiry = lease.take(client, TASKS_TABLE, run="b", execution="exec-b", now=now + 20, seconds=10)

    assert (first.held, second.held, second.holder, again.held, after_expiry.held) == (
        True,
        False,
        "exec-a",
        True,
        True,
    )
    assert lease.give_back(client, TASKS_TABLE, run="a", now=now + 21) is False  # "b" holds it now
    left = lease.ClaimsLeft(ids={"worker-a": ["t1", "t2"]}, unknown={"worker-b": 1})
    assert lease.give_back(client, TASKS_TABLE, run="b", now=now + 21, claims=left) is True
    assert _lease_holder(stack) is None
    # the next holder learns what "b" left claimed, for its running count
    third = lease.take(client, TASKS_TABLE, run="c", execution="exec-c", now=now + 22, seconds=10)
    assert third.previous == lease.PreviousHolder(
        run="b", claims=lease.ClaimsLeft(ids={"worker-a": ("t1", "t2")}, unknown={"worker-b": 1})
    )
