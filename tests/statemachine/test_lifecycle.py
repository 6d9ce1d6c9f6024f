"""The whole task lifecycle on the embedded stack, over simulated time, with a conservation check after every step.

The real Orchestrator and Scavenger state machines run with ``now`` in their execution input (the simulated clock);
the labourer reports through the worker helper on the same clock. 13 tasks, ``max_attempts`` 3, a labourer whose
tasks complete, fail, time out, or time out once and then complete, plus one delayed task: they go
queued -> running -> completed/failed/expired -> retry-waiting -> queued ... -> closed-completed or closed-dead, and
after every step each task is in exactly one state, none lost, none duplicated.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from foreman.local.stack import EmbeddedStack
from foreman_core.config import Tables
from foreman_core.task_store import TaskStore
from foreman_core.worker import Reporter
from tests.builders import FakeClock, payload
from tests.conservation import (
    CLOSED_COMPLETED,
    CLOSED_DEAD,
    QUEUED,
    assert_conserved,
)
from tests.statemachine.conftest import report_for
from tests.statemachine.conftest import scavenged as scavenger_lines

LAB = "worker-a"
DURATION, COOLDOWN, RETRY_DELAY = 60, 30, 100
COMPLETES, FAILS, TIMES_OUT, TIMES_OUT_ONCE = 0, 1, 2, 3
"""What the labourer does with payload number n, by n % 4."""


@dataclass
class ScriptedLabourer:
    """Completes, fails or stays silent depending on the task's number and attempt, reporting with ``reporter``."""

    reporter: Reporter
    calls: list[tuple[int, int]] = field(default_factory=list)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, bool]:
        number, attempt = event["number"], event["attempts"] + 1
        self.calls.append((number, attempt))
        kind = number % 4
        if kind == COMPLETES or (kind == TIMES_OUT_ONCE and attempt >= 2):
            assert self.reporter.complete(event, stats={"attempt": attempt}).accepted
        elif kind == FAILS:
            assert self.reporter.fail(event, error=RuntimeError(f"task {number} cannot be done")).accepted
        return {"ok": True}  # TIMES_OUT (and TIMES_OUT_ONCE's first attempt): silence


def subscribe_queue(stack: EmbeddedStack, name: str) -> str:
    sqs = stack.client("sqs")
    url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url


def drain(stack: EmbeddedStack, url: str) -> list[dict[str, Any]]:
    messages = []
    while True:
        batch = stack.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return messages
        messages.extend(json.loads(message["Body"]) for message in batch)
        for message in batch:
            stack.client("sqs").delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_tasks_complete_fail_time_out_retry_and_die_and_none_is_ever_lost(stack: EmbeddedStack) -> None:
    clock = FakeClock(float(int(time.time())))
    start = clock.now
    client = stack.client("dynamodb")
    store = TaskStore(client, Tables(), clock=clock)
    labourer = ScriptedLabourer(Reporter(tables=Tables(), client=client, clock=clock))
    arn = stack.add_function(LAB, labourer)
    stack.put_config(
        {
            "task_config": {
                "labourers": {
                    LAB: {
                        "arn": arn,
                        "max_simultaneous_invocations": 20,
                        "max_attempts": 3,
                        "duration": DURATION,
                        "cooldown": COOLDOWN,
                        "retry_delay_seconds": RETRY_DELAY,
                    }
                }
            }
        }
    )
    # dead-task notifications: the SNS topic and EventBridge, each into a queue the test reads
    topic_queue, events_queue = subscribe_queue(stack, "dead-sns"), subscribe_queue(stack, "dead-events")
    stack.client("sns").subscribe(
        TopicArn=stack.outputs["DeadTasksTopicArn"],
        Protocol="sqs",
        Endpoint=stack.client("sqs").get_queue_attributes(QueueUrl=topic_queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"],
    )
    stack.client("events").put_rule(
        Name="dead-tasks", EventPattern=json.dumps({"source": ["foreman"], "detail-type": ["Task dead"]})
    )
    stack.client("events").put_targets(
        Rule="dead-tasks",
        Targets=[
            {
                "Id": "queue",
                "Arn": stack.client("sqs").get_queue_attributes(QueueUrl=events_queue, AttributeNames=["QueueArn"])[
                    "Attributes"
                ]["QueueArn"],
            }
        ],
    )

    tasks = store.create_tasks(LAB, [payload(n) for n in range(12)])
    delayed = store.create_delayed_task(LAB, payload(12), not_before=start + 150)  # 12 % 4 == 0: completes
    created = [task.task_id for task in tasks] + [delayed.task_id]
    number = {task.task_id: n for n, task in enumerate([*tasks, delayed])}

    def at(seconds: float) -> None:
        clock.now = start + seconds

    def orchestrate() -> dict[str, Any]:
        return report_for(stack.run({"now": clock.now}).output, LAB)

    def scavenge() -> dict[str, Any]:
        output = stack.run({"now": clock.now}, state_machine="ScavengerArn").output
        (line,) = scavenger_lines(output)
        assert (line.get("errors", []), line.get("notification_errors", [])) == ([], []), line
        return dict(line)

    def conserved(**expected: int) -> dict[str, str]:
        wanted = {name.replace("_", "-"): count for name, count in expected.items()}
        return assert_conserved(client, created, now=clock.now, expected=wanted).states

    def scavenged(line: dict[str, Any], **expected: int) -> None:
        assert {key: line.get(key, 0) for key in expected} == expected, line  # a line leaves out its zeros

    # t=0: 12 queued, the delayed one waits in the retry table
    conserved(queued=12, retry_waiting=1)
    # t=0: every queued task is invoked; 3 complete, 3 fail, 6 say nothing
    assert orchestrate()["invoked"] == 12
    conserved(completed=3, running=9, retry_waiting=1)
    # t=10: completed ones archived, failed ones retried at once (no waiting for expiry), the silent ones run on
    at(10)
    scavenged(scavenge(), archived=3, retried=3, failures_reported=3, dead=0, requeued=0)
    conserved(closed_completed=3, running=6, retry_waiting=4)
    at(10)
    assert orchestrate()["invoked"] == 0  # nothing queued
    # t=100: the silent ones expired (invoked + 60 + 30): to the retry table, due at 200
    at(100)
    scavenged(scavenge(), archived=0, retried=6, failures_reported=0, requeued=0)
    conserved(closed_completed=3, retry_waiting=10)
    # t=160: the failed ones (due 110) and the delayed one (due 150) return to the head of the queue, in that order
    at(160)
    scavenged(scavenge(), requeued=4, retried=0)
    states = conserved(closed_completed=3, retry_waiting=6, queued=4)
    head = [number[task.task_id] for task in store.next_tasks(LAB, 10, start=int(clock.now))]
    assert sorted(head[:3]) == [1, 5, 9]
    assert head[3] == 12
    assert states[delayed.task_id] == QUEUED
    # t=160: attempt 2 of the failing ones fails again; the delayed one runs and completes
    assert orchestrate()["invoked"] == 4
    conserved(closed_completed=3, retry_waiting=6, running=3, completed=1)
    # t=200: archive the delayed one; failed ones retried (delay 100 x 2: due 400); the expired six requeued
    at(200)
    scavenged(scavenge(), archived=1, retried=3, failures_reported=3, requeued=6)
    conserved(closed_completed=4, retry_waiting=3, queued=6)
    assert orchestrate()["invoked"] == 6  # attempt 2: TIMES_OUT_ONCE ones complete, TIMES_OUT ones stay silent
    conserved(closed_completed=4, retry_waiting=3, running=3, completed=3)
    at(210)
    scavenged(scavenge(), archived=3, retried=0)
    conserved(closed_completed=7, retry_waiting=3, running=3)
    # t=300: attempt 2 of the silent ones expired: retried, due at 500
    at(300)
    scavenged(scavenge(), retried=3, dead=0)
    conserved(closed_completed=7, retry_waiting=6)
    # t=400: the failing ones are due, run a third time and fail: dead after max_attempts
    at(400)
    scavenged(scavenge(), requeued=3)
    assert orchestrate()["invoked"] == 3
    conserved(closed_completed=7, retry_waiting=3, running=3)
    at(410)
    scavenged(scavenge(), dead=3, failures_reported=3, retried=0)
    states = conserved(closed_completed=7, closed_dead=3, retry_waiting=3)
    # t=500: the silent ones run a third time, and at t=600 they are dead too
    at(500)
    scavenged(scavenge(), requeued=3)
    assert orchestrate()["invoked"] == 3
    conserved(closed_completed=7, closed_dead=3, running=3)
    at(600)
    last = scavenge()
    scavenged(last, dead=3, failures_reported=0)
    census = assert_conserved(client, created, now=clock.now, expected={CLOSED_COMPLETED: 7, CLOSED_DEAD: 6})

    # every task ended where its script says, after the attempts it says
    kinds = {task_id: number[task_id] % 4 for task_id in created}
    for task_id, state in census.states.items():
        assert state == (CLOSED_DEAD if kinds[task_id] in (FAILS, TIMES_OUT) else CLOSED_COMPLETED), task_id
        item = census.items[task_id]
        if kinds[task_id] == FAILS:
            assert (item["close_reason"], item["attempts"], item["failed_attempts"]) == (
                "failed after 3 attempts",
                3,
                3,
            )
        if kinds[task_id] == TIMES_OUT:
            assert (item["close_reason"], item["attempts"]) == ("expired after 3 attempts", 3)
    calls = Counter(n for n, _ in labourer.calls)
    assert {n: calls[n] for n in range(13)} == {n: {0: 1, 1: 3, 2: 3, 3: 2}[n % 4] for n in range(13)}
    assert sorted(set(labourer.calls)) == sorted(labourer.calls)  # no attempt ran twice

    # one SNS message and one event per dead task, for each of the two batches
    messages = [json.loads(envelope["Message"]) for envelope in drain(stack, topic_queue)]
    assert sorted(len(message["dead_tasks"]) for message in messages) == [3, 3]
    assert {task["reason"] for message in messages for task in message["dead_tasks"]} == {
        "failed after 3 attempts",
        "expired after 3 attempts",
    }
    events = drain(stack, events_queue)
    assert sorted(event["detail"]["task_id"] for event in events) == sorted(
        task_id for task_id, kind in kinds.items() if kind in (FAILS, TIMES_OUT)
    )
    assert {(event["source"], event["detail-type"]) for event in events} == {("foreman", "Task dead")}
