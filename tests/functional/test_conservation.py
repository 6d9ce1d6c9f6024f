"""The conservation check itself: it places tasks correctly and catches lost, duplicated and unknown tasks."""

from __future__ import annotations

import re
from typing import Any

import pytest

from foreman_core.config import Tables
from foreman_core.task_store import TaskStore
from tests.builders import FakeClock, markers_at, payloads
from tests.conservation import ConservationError, assert_conserved, census

TABLES = Tables()
LAB = "lab"


def test_every_state_is_recognised(client: Any) -> None:
    clock = FakeClock()
    store = TaskStore(client, TABLES, clock=clock)
    queued, running, completed, retried, archived, dead = store.create_tasks(LAB, payloads(6))
    delayed = store.create_delayed_task(LAB, {}, not_before=clock.now + 60)
    for task in (running, completed, retried, archived, dead):
        assert store.claim(task.task_id, LAB, markers_at(clock.now)).claimed
    store.mark_completed(completed.task_id)
    store.mark_completed(archived.task_id)
    for task, move in ((retried, "retry"), (archived, "archive"), (dead, "dead")):
        stored = store.get_task(task.task_id)
        assert stored is not None
        if move == "retry":
            assert store.move_to_retry(stored, delay=10)
        else:
            assert store.archive(stored, dead_reason="expired after 3 attempts" if move == "dead" else None)

    states = census(
        client, [t.task_id for t in (queued, running, completed, retried, archived, dead, delayed)], now=clock.now
    ).states

    assert states == {
        queued.task_id: "queued",
        running.task_id: "running",
        completed.task_id: "completed",
        retried.task_id: "retry-waiting",
        delayed.task_id: "retry-waiting",
        archived.task_id: "closed-completed",
        dead.task_id: "closed-dead",
    }


def test_a_lost_a_duplicated_and_an_unknown_task_are_all_reported(client: Any) -> None:
    store = TaskStore(client, TABLES)
    kept, duplicated = store.create_tasks(LAB, payloads(2))
    item = client.get_item(TableName=TABLES.tasks, Key={"task_id": {"S": duplicated.task_id}})["Item"]
    client.put_item(TableName=TABLES.closed, Item={**item, "labourer_id_task_status": {"S": f"{LAB}_1"}})
    client.update_item(  # what sosw's WorkerAssistant does for a task it does not know: a ghost item
        TableName=TABLES.tasks,
        Key={"task_id": {"S": "ghost"}},
        UpdateExpression="SET completed_at = :now",
        ExpressionAttributeValues={":now": {"N": "1"}},
    )

    with pytest.raises(ConservationError) as caught:
        census(client, [kept.task_id, duplicated.task_id, "never-stored"], now=0)

    message = str(caught.value)
    assert f"task {duplicated.task_id} is duplicated" in message
    assert "task never-stored is lost: in no table" in message
    assert "item 'ghost' has no labourer_id (a ghost item)" in message
    assert "task 'ghost' was never created" in message


def test_counts_must_match_exactly(client: Any) -> None:
    store = TaskStore(client, TABLES)
    ids = [task.task_id for task in store.create_tasks(LAB, payloads(2))]

    assert_conserved(client, ids, now=10_000_000_000, expected={"queued": 2, "running": 0})
    with pytest.raises(
        ConservationError, match=re.escape("states {'queued': 2}, expected {'queued': 1, 'running': 1}")
    ):
        assert_conserved(client, ids, now=10_000_000_000, expected={"queued": 1, "running": 1})
