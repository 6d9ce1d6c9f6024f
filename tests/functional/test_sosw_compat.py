"""Foreman's TaskStore and sosw 0.7.51 itself, on the same moto tables: each reads and moves the other's tasks.

sosw runs unmodified. Its TaskManager looks for a ``<AWS_LAMBDA_FUNCTION_NAME>_config`` row in a DynamoDB ``config``
table (absent here, which it logs and ignores) and calls Glue GetTable for every table client (moto answers "not
found"); its WorkerAssistant posts meta rows that read the Lambda context from ``sosw.app.global_vars``, so a fake
context is installed. sosw reads the clock itself (``time.time``), so Foreman's store uses the real clock here too, and
both sides get the same run markers: Foreman's ``RunMarkers`` are set as the sosw Labourer's ``start`` / ``invoked`` /
``expired`` attributes, exactly what sosw's ``register_labourers`` would compute.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sosw.labourer import Labourer
from sosw.managers.task import TaskManager
from sosw.worker_assistant import WorkerAssistant

from foreman_core.config import Tables
from foreman_core.greenfield import RunMarkers
from foreman_core.task_store import InvalidPayloadError, TaskStore, Where
from tests.builders import all_items, create_sosw_tables, markers_at, payload, payloads
from tests.sosw_context import sosw_lambda_context

LAB = "some_function"
ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{LAB}"
TABLES = Tables()
EXPIRY = 900 + 300


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "foreman_compat_test")
    with sosw_lambda_context("foreman_compat_test"), mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_sosw_tables(dynamodb)
        yield dynamodb


@pytest.fixture
def manager(client: Any) -> TaskManager:
    """sosw's TaskManager with one labourer, on the default (= Foreman's default) table names."""
    return TaskManager(custom_config={"labourers": {LAB: {"arn": ARN, "max_simultaneous_invocations": 10}}})


@pytest.fixture
def store(client: Any) -> TaskStore:
    return TaskStore(client, TABLES)


def run_now() -> RunMarkers:
    return markers_at(time.time())


def sosw_labourer(manager: TaskManager, markers: RunMarkers) -> Labourer:
    """sosw's Labourer for LAB with the same markers as Foreman's run."""
    labourer = manager.get_labourer(LAB)
    labourer.set_custom_attribute("start", markers.start)
    labourer.set_custom_attribute("invoked", markers.invoked)
    labourer.set_custom_attribute("expired", markers.expired)
    labourer.set_custom_attribute("max_duration", 60)
    return labourer


def ids(tasks: list[Any]) -> list[str]:
    return [task["task_id"] if isinstance(task, dict) else task.task_id for task in tasks]


def test_tasks_created_by_sosw_are_fetched_claimed_and_counted_by_foreman(
    manager: TaskManager, store: TaskStore
) -> None:
    run = run_now()
    labourer = sosw_labourer(manager, run)
    created = [manager.create_task(labourer, payload=payload(number), extra=number) for number in range(5)]

    fetched = store.next_tasks(LAB, 10, start=run.start)

    assert ids(fetched) == ids(created)
    assert [task.greenfield for task in fetched] == [2000, 3000, 4000, 5000, 6000]
    assert [task.payload for task in fetched] == [payload(number, extra=number) for number in range(5)]
    assert all(task.attempts == 0 for task in fetched)
    claims = [store.claim(task.task_id, LAB, run) for task in fetched[:3]]
    assert all(claim.claimed for claim in claims)
    assert [claim.previous_greenfield for claim in claims] == [2000, 3000, 4000]
    assert store.count_running(LAB, run) == 3 == manager.get_count_of_running_tasks_for_labourer(labourer)
    assert ids(store.next_tasks(LAB, 10, start=run.start)) == ids(created[3:])


def test_tasks_created_by_foreman_are_fetched_by_sosw_and_seen_running_after_a_foreman_claim(
    manager: TaskManager, store: TaskStore
) -> None:
    run = run_now()
    labourer = sosw_labourer(manager, run)
    created = store.create_tasks(LAB, payloads(4))

    fetched = manager.get_next_for_labourer(labourer, cnt=10)

    assert ids(fetched) == ids(created)
    assert [task["payload"] for task in fetched] == payloads(4)
    assert [task["greenfield"] for task in fetched] == [2000, 3000, 4000, 5000]
    for task in created[:2]:
        assert store.claim(task.task_id, LAB, run).claimed
    running = manager.get_running_tasks_for_labourer(labourer)
    assert sorted(ids(running)) == sorted(ids(created[:2]))
    assert all(task["attempts"] == 1 and task["greenfield"] == run.invoked for task in running)
    assert manager.get_count_of_running_tasks_for_labourer(labourer) == 2 == store.count_running(LAB, run)
    assert manager.get_next_for_labourer(labourer, cnt=10, only_ids=True) == ids(created[2:])


def test_both_append_to_the_same_queue(manager: TaskManager, store: TaskStore) -> None:
    run = run_now()
    labourer = sosw_labourer(manager, run)

    first = manager.create_task(labourer, payload={"by": "sosw"})
    batch = store.create_tasks(LAB, [{"by": "foreman"}, {"by": "foreman"}])
    last = manager.create_task(labourer, payload={"by": "sosw"})

    assert int(first["greenfield"]) == 2000
    assert [task.greenfield for task in batch] == [3000, 4000]
    assert int(last["greenfield"]) == 5000
    assert manager.get_length_of_queue_for_labourer(labourer) == 4 == store.queue_length(LAB)


def test_expired_tasks_look_the_same_to_both(manager: TaskManager, store: TaskStore) -> None:
    now = time.time()
    earlier_run = markers_at(now - 1500)
    run = markers_at(now)
    labourer = sosw_labourer(manager, run)
    created = store.create_tasks(LAB, payloads(5))
    for task in created[:2]:
        assert store.claim(task.task_id, LAB, earlier_run).claimed
    assert store.claim(created[2].task_id, LAB, run).claimed

    by_sosw = manager.get_expired_tasks_for_labourer(labourer)
    by_foreman = store.expired_tasks(LAB, run)

    assert sorted(ids(by_sosw)) == sorted(ids(by_foreman)) == sorted(ids(created[:2]))
    assert manager.get_count_of_running_tasks_for_labourer(labourer) == 1 == store.count_running(LAB, run)
    assert store.locate(created[0].task_id, markers=run).where == Where.EXPIRED


def test_only_one_of_sosw_and_foreman_claims_a_task(manager: TaskManager, store: TaskStore) -> None:
    run = run_now()
    labourer = sosw_labourer(manager, run)
    first, second = store.create_tasks(LAB, payloads(2))

    assert store.claim(first.task_id, LAB, run).claimed
    with pytest.raises(Exception, match="ConditionalCheckFailed"):
        manager.mark_task_invoked(labourer, {"task_id": first.task_id, "labourer_id": LAB})

    manager.mark_task_invoked(labourer, {"task_id": second.task_id, "labourer_id": LAB})
    assert not store.claim(second.task_id, LAB, run).claimed
    claimed_by_sosw = store.get_task(second.task_id)
    assert claimed_by_sosw is not None
    assert claimed_by_sosw.attempts == 1
    assert store.count_running(LAB, run) == 2


def test_a_sosw_worker_assistant_completion_is_archived_by_foreman_and_read_back_by_sosw(
    manager: TaskManager, store: TaskStore, client: Any
) -> None:
    run = run_now()
    labourer = sosw_labourer(manager, run)
    (task,) = store.create_tasks(LAB, [payload(1)])
    store.claim(task.task_id, LAB, run)
    assistant = WorkerAssistant(custom_config={"meta_handler_config": {"write_meta_to_ddb": False}})

    assistant({"action": "mark_task_as_completed", "task_id": task.task_id, "stats": '{"rows": 12}'})

    (completed,) = store.completed_tasks(LAB)
    assert completed.attributes["stat_rows"] == 12
    assert store.mark_completed(task.task_id).reason == "late: task already completed"
    assert ids(manager.get_completed_tasks_for_labourer(labourer)) == [task.task_id]
    assert store.archive(completed)
    (closed,) = list(all_items(client, TABLES.closed))
    assert json.loads(closed["payload"]["S"]) == payload(1)
    # sosw's duration statistics read Foreman's closed rows through the closed table's index.
    expected = completed.attributes["completed_at"] - run.invoked + 31557600
    assert manager.get_average_labourer_duration(labourer) == round(expected)


def test_a_foreman_completion_is_seen_and_archived_by_sosw(manager: TaskManager, store: TaskStore, client: Any) -> None:
    run = run_now()
    labourer = sosw_labourer(manager, run)
    (task,) = store.create_tasks(LAB, [payload(2)])
    store.claim(task.task_id, LAB, run)

    assert store.mark_completed(task.task_id, result={"status": "ok"}).accepted

    assert ids(manager.get_completed_tasks_for_labourer(labourer)) == [task.task_id]
    manager.archive_task(task.task_id)
    location = store.locate(task.task_id)
    assert location.where == Where.CLOSED_COMPLETED
    assert location.task is not None
    assert location.task.attributes["result_status"] == "ok"
    # sosw bug 9: its archive writes the payload as a Python repr. Foreman says so instead of crashing later.
    with pytest.raises(InvalidPayloadError, match="not JSON"):
        _ = location.task.payload


def test_retries_move_between_sosw_and_foreman(manager: TaskManager, store: TaskStore) -> None:
    now = time.time()
    earlier_run = markers_at(now - 1500)
    run = markers_at(now)
    labourer = sosw_labourer(manager, run)
    queued = store.create_tasks(LAB, payloads(4))
    for task in queued[:2]:
        store.claim(task.task_id, LAB, earlier_run)
    by_foreman, by_sosw = store.expired_tasks(LAB, run)

    assert store.move_to_retry(by_foreman, delay=0)
    manager.move_task_to_retry_table(manager.get_task_by_id(by_sosw.task_id), wanted_delay=0)

    # A run two seconds later (Foreman rounds desired_launch_time up to the next second, sosw down).
    next_run = markers_at(now + 2)
    labourer = sosw_labourer(manager, next_run)
    waiting = manager.get_tasks_to_retry_for_labourer(labourer)
    assert sorted(ids(waiting)) == sorted([by_foreman.task_id, by_sosw.task_id])
    assert store.locate(by_sosw.task_id, labourer_id=LAB).where == Where.RETRY
    requeued = store.requeue_due_retries(LAB, now=next_run.start)
    assert sorted(ids(requeued)) == sorted([by_foreman.task_id, by_sosw.task_id])
    assert all(task.greenfield < queued[2].greenfield for task in requeued)
    fetched = manager.get_next_for_labourer(labourer, cnt=10, only_ids=True)
    assert fetched == ids(requeued) + ids(queued[2:])


def test_a_foreman_delayed_task_is_retried_by_sosw_when_due(manager: TaskManager, store: TaskStore) -> None:
    run = run_now()
    labourer = sosw_labourer(manager, run)
    store.create_tasks(LAB, payloads(1))
    later = store.create_delayed_task(LAB, {"report": "monthly"}, not_before=run.start + 3600)
    due = store.create_delayed_task(LAB, {"report": "daily"}, not_before=run.start - 1)

    waiting = manager.get_tasks_to_retry_for_labourer(labourer)

    assert ids(waiting) == [due.task_id]
    manager.retry_task(waiting[0], LAB, greenfield=1999)
    fetched = store.next_tasks(LAB, 5, start=run.start)
    assert ids(fetched)[0] == due.task_id
    assert fetched[0].payload == {"report": "daily"}
    assert fetched[0].attempts == 0
    assert store.locate(later.task_id, labourer_id=LAB).where == Where.RETRY
