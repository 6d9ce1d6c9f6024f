"""No item can stop the Orchestrator: a task item of any shape DynamoDB accepts is set aside with its reason (the
raw item kept in the closed table) while every other task runs, on the real state machines, with the embedded
stack as strict as AWS about ``States.Runtime`` (``foreman.local.patches.strict_runtime_errors``).

Before this, ``created_at = "yesterday"``, ``attempts = "two"`` or a binary payload at the head of a queue failed
every run, for every labourer, until someone deleted the item by hand.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from foreman.local.stack import EmbeddedStack
from foreman.status import status_report
from foreman_core.config import Tables, parse_config
from foreman_core.report_line import line_value
from foreman_core.task_store import Item, TaskStore
from tests.conservation import CLOSED_DEAD, QUEUED, RUNNING, assert_conserved
from tests.malformed import malformed_family, valid_item
from tests.statemachine.conftest import (
    FETCH_FUNCTION,
    FakeLabourer,
    both_orchestrator_types,
    labourer_config,
    report_for,
    scavenged,
)

pytestmark = both_orchestrator_types  # every test on a Standard and on an Express Orchestrator

CLOSED_FIELDS = {"closed_at", "labourer_id_task_status", "close_reason"}


def _configure(stack: EmbeddedStack, fake: FakeLabourer, cap: int = 10, **extra: Any) -> dict[str, Any]:
    config = {
        "task_config": {"labourers": {"worker-a": labourer_config(stack.add_function("worker-a", fake), cap, **extra)}}
    }
    stack.put_config(config)
    return config


def _put(stack: EmbeddedStack, items: list[Item]) -> None:
    for item in items:
        stack.client("dynamodb").put_item(TableName=Tables().tasks, Item=item)


def _assert_set_aside_as_written(stack: EmbeddedStack, item: Item) -> str:
    """The item is in the closed table as dead, every attribute exactly as written; returns its close reason."""
    task_id = item["task_id"]["S"]
    closed = stack.client("dynamodb").get_item(TableName=Tables().closed, Key={"task_id": {"S": task_id}})["Item"]
    assert {name: value for name, value in closed.items() if name not in CLOSED_FIELDS} == item, task_id
    assert closed["labourer_id_task_status"] == {"S": "worker-a_0"}
    reason: str = closed["close_reason"]["S"]
    assert reason.startswith("set aside by the Orchestrator: "), reason
    assert (
        stack.client("dynamodb").get_item(TableName=Tables().tasks, Key={"task_id": {"S": task_id}}).get("Item") is None
    )
    return reason


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("created_at", {"S": "yesterday"}, "created_at is of DynamoDB type S, not N"),
        ("attempts", {"S": "two"}, "attempts is of DynamoDB type S, not N"),
        ("payload", {"B": b'{"n": 1}'}, "payload is of DynamoDB type B, not S"),
    ],
)
def test_one_malformed_item_at_the_head_of_the_queue_stops_nothing(
    stack: EmbeddedStack, store: TaskStore, name: str, value: dict[str, Any], reason: str
) -> None:
    # Given a malformed item at the head of the queue, 10 valid tasks behind it
    fake = FakeLabourer()
    _configure(stack, fake)
    valid = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(10)])]
    bad = valid_item("poison", "worker-a", 100, now=time.time())
    bad[name] = value
    _put(stack, [bad])

    # When two runs go
    first = stack.run().output
    second = stack.run().output

    # Then both succeeded, the 10 valid tasks were invoked, and the bad item was set aside as it was, with its reason
    line = report_for(first, "worker-a")
    assert (line["invoked"], line["set_aside"]) == (10, [{"task_id": "poison", "reason": reason}])
    assert sorted(fake.task_ids) == sorted(valid)
    assert report_for(second, "worker-a")["set_aside"] == []
    assert _assert_set_aside_as_written(stack, bad).endswith(reason)
    assert_conserved(
        stack.client("dynamodb"), [*valid, "poison"], now=time.time(), expected={RUNNING: 10, CLOSED_DEAD: 1}
    )


def test_every_malformed_shape_is_set_aside_and_the_valid_tasks_run(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given every malformed shape of the family at the head of one queue, 10 valid tasks behind them, and a second
    # labourer with valid tasks only
    fake, other = FakeLabourer(), FakeLabourer()
    config = _configure(stack, fake)
    config["task_config"]["labourers"]["worker-b"] = labourer_config(stack.add_function("worker-b", other), 5)
    stack.put_config(config)
    bad = malformed_family("worker-a", now=time.time())
    _put(stack, bad)
    valid = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(10)])]
    others = [task.task_id for task in store.create_tasks("worker-b", [{"n": i} for i in range(5)])]

    output = stack.run().output

    # Then the run succeeded; both labourers invoked all their valid tasks; each bad item is set aside, kept as
    # written, with a reason; the report lists 20 of them and counts the rest
    line = report_for(output, "worker-a")
    assert line["invoked"] == 10
    assert sorted(fake.task_ids) == sorted(valid)
    assert sorted(other.task_ids) == sorted(others)
    assert len(line["set_aside"]) == 20
    assert line["set_aside_more"] == len(bad) - 20
    assert output["totals"]["set_aside"] == len(bad)
    reasons = {_assert_set_aside_as_written(stack, item) for item in bad}
    assert any("larger than 245760 bytes, more than a Step Functions state can carry" in reason for reason in reasons)
    assert any("NaN is not JSON" in reason for reason in reasons)
    bad_ids = [item["task_id"]["S"] for item in bad]
    assert_conserved(
        stack.client("dynamodb"),
        [*valid, *others, *bad_ids],
        now=time.time(),
        expected={RUNNING: 15, CLOSED_DEAD: len(bad)},
    )


def test_an_item_rewritten_between_fetch_and_claim_is_skipped_then_set_aside(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given a task that someone rewrites with a string attempts after FetchGreenfieldTasks checked it
    fake = FakeLabourer()
    _configure(stack, fake)
    first, *rest = store.create_tasks("worker-a", [{"n": i} for i in range(4)])

    rewritten: list[bool] = []

    def rewrite_after_fetch(real: Any, event: Any, context: Any) -> Any:
        result = real(event, context)
        if rewritten:
            return result
        rewritten.append(True)
        stack.client("dynamodb").update_item(
            TableName=Tables().tasks,
            Key={"task_id": {"S": first.task_id}},
            UpdateExpression="SET attempts = :two",
            ExpressionAttributeValues={":two": {"S": "two"}},
        )
        return result

    stack.runtime.wrap(FETCH_FUNCTION, rewrite_after_fetch)
    output = stack.run().output
    again = stack.run().output

    # Then the claim's condition refused it (a skip, not a failed execution), and the next run set it aside
    assert (report_for(output, "worker-a")["invoked"], report_for(output, "worker-a")["skipped"]) == (3, 1)
    assert sorted(fake.task_ids) == sorted(task.task_id for task in rest)
    assert [aside["task_id"] for aside in report_for(again, "worker-a")["set_aside"]] == [first.task_id]


def test_a_running_task_rewritten_with_wrong_types_is_closed_by_the_scavenger(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given an invoked task whose attempts someone rewrote as a string, and which then expired
    fake = FakeLabourer()
    _configure(stack, fake, duration=60, cooldown=0)
    (task,) = store.create_tasks("worker-a", [{"n": 1}])
    now = time.time()
    stack.run({"now": now})
    stack.client("dynamodb").update_item(
        TableName=Tables().tasks,
        Key={"task_id": {"S": task.task_id}},
        UpdateExpression="SET attempts = :two",
        ExpressionAttributeValues={":two": {"S": "two"}},
    )

    # When the Scavenger runs after its expiry, and status, a completion and the Orchestrator read it meanwhile
    config = parse_config(json.loads(_config_text(stack)))
    statuses = status_report(config, dynamodb=stack.client("dynamodb"), cloudwatch=stack.client("cloudwatch"), now=now)
    late = store.mark_completed(task.task_id, attempt=1)
    output = stack.run({"now": now + 3600}, state_machine="ScavengerArn").output

    # Then nothing failed: the completion was refused with a reason, and the task was closed as dead, kept as it is
    assert [status.running for status in statuses] == [1]
    assert not late.accepted
    assert "attempt 1 reported" in (late.reason or "")
    (line,) = [line for line in scavenged(output) if line["labourer_id"] == "worker-a"]
    assert line["dead"] == 1
    closed = store.locate(task.task_id)
    assert closed.where.value == "closed-dead"
    assert closed.task is not None
    assert closed.task.attributes["attempts"] == "two"
    assert str(closed.task.attributes["close_reason"]).startswith("set aside by the Scavenger: attempts is of")
    assert_conserved(stack.client("dynamodb"), [task.task_id], now=now + 3600, expected={CLOSED_DEAD: 1, QUEUED: 0})


def _config_text(stack: EmbeddedStack) -> str:
    name = str(stack.outputs["ConfigLocation"])[len("ssm:") :]
    text: str = stack.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    return text


def test_hand_written_tasks_far_in_the_future_neither_starve_the_labourer_nor_stay(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given a labourer with cap 3, three hand-written tasks whose greenfield is two years ahead (above any marker a
    # claim writes: the claim's run start + greenfield_invocation_delta, a year), and three queued tasks
    fake = FakeLabourer()
    _configure(stack, fake, cap=3)
    now = time.time()
    ahead = [valid_item(f"ahead-{n}", "worker-a", int(now) + 2 * 31_557_600 + n, now=now) for n in range(3)]
    _put(stack, ahead)
    queued = store.create_tasks("worker-a", [{"n": n} for n in range(3)])

    # When the Orchestrator runs, then the Scavenger
    output = stack.run().output
    scavenged = stack.run(state_machine="ScavengerArn").output

    # Then they did not count as running: the queued tasks were invoked
    line = report_for(output, "worker-a")
    assert (line_value(line, "running"), line["invoked"]) == (0, 3)
    assert sorted(fake.task_ids) == sorted(task.task_id for task in queued)
    # and the Scavenger set each aside as dead, kept exactly as written, with its reason
    lines = [line for batch in scavenged["batches"] for line in batch["labourers"]]
    (scavenger_line,) = [line for line in lines if line["labourer_id"] == "worker-a"]
    assert scavenger_line["dead"] == 3
    for item in ahead:
        task_id = item["task_id"]["S"]
        closed = stack.client("dynamodb").get_item(TableName=Tables().closed, Key={"task_id": {"S": task_id}})["Item"]
        assert {name: value for name, value in closed.items() if name not in CLOSED_FIELDS} == item
        reason = closed["close_reason"]["S"]
        assert reason.startswith("set aside by the Scavenger: greenfield "), reason
        assert "above the highest a claim can write" in reason, reason
    # and the invoked tasks, running, were left alone
    assert all(store.locate(task.task_id).where.value == "running" for task in queued)
