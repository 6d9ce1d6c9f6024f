"""Closing a task never writes an item DynamoDB refuses, and never loses one: every shape of item DynamoDB stores, up
to exactly its 400 KB, is archived (set aside as dead, or closed as completed) in one transaction, its closed row
within the limit, and reads back whole (``TaskStore.closed_item``). On moto with DynamoDB's own item-size rule
(``foreman.local.patches.item_size_limit``) and 4 MB transaction rule (``patches.transaction_size_limit``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from foreman.local.patches.item_size_limit import item_size_limit
from foreman.local.patches.transaction_size_limit import transaction_size_limit
from foreman_core.closed_record import CUT, PARTS, REASON_CHARS, closed_record
from foreman_core.config import Labourer, Tables
from foreman_core.greenfield import RunMarkers
from foreman_core.item_size import ITEM_BYTES, item_bytes
from foreman_core.scavenger import Scavenger
from foreman_core.task_store import Item, Task, TaskStore
from tests.builders import FakeClock, create_sosw_tables
from tests.conservation import CLOSED_COMPLETED, CLOSED_DEAD, assert_conserved

LAB = "some_function"
TABLES = Tables()
CLOSING = {"closed_at", "labourer_id_task_status", "close_reason"}


@pytest.fixture(scope="module")
def shared() -> Iterator[Any]:
    with mock_aws(), item_size_limit(), transaction_size_limit():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_sosw_tables(client)
        yield client


@pytest.fixture
def client(shared: Any) -> Any:
    for table in (TABLES.tasks, TABLES.closed, TABLES.retry):
        for item in shared.scan(TableName=table)["Items"]:
            key = {"task_id": item["task_id"]}
            if table == TABLES.retry:
                key["labourer_id"] = item["labourer_id"]
            shared.delete_item(TableName=table, Key=key)
    return shared


def _base(task_id: str = "t1", greenfield: int = 100) -> Item:
    return {
        "task_id": {"S": task_id},
        "labourer_id": {"S": LAB},
        "greenfield": {"N": str(greenfield)},
        "created_at": {"N": "1700000000"},
        "attempts": {"N": "0"},
        "payload": {"S": "{}"},
    }


def _padded(item: Item, name: str, make: Callable[[int], dict[str, Any]], size: int = ITEM_BYTES) -> Item:
    """``item`` with attribute ``name`` = ``make(n)`` for the largest ``n`` that keeps it within ``size``."""
    low, high = 0, size
    while low < high:
        middle = (low + high + 1) // 2
        if item_bytes({**item, name: make(middle)}) <= size:
            low = middle
        else:
            high = middle - 1
    return {**item, name: make(low)}


def _string_payload(n: int) -> dict[str, Any]:
    return {"S": json.dumps({"b": "x" * n})}


def _multibyte_payload(n: int) -> dict[str, Any]:
    return {"S": json.dumps({"b": "é€😀" * n}, ensure_ascii=False)}


def _binary(n: int) -> dict[str, Any]:
    return {"B": bytes(range(256)) * (n // 256) + b"\0" * (n % 256)}


def _map(n: int) -> dict[str, Any]:
    return {"M": {f"k{i}": {"S": "v" * 90} for i in range(n // 99)}}


def _many_small(base: Item) -> Item:
    many = {**base, **{f"a{i:05d}": {"S": "y" * 60} for i in range(6_000)}}
    return _padded(many, "last", lambda n: {"S": "z" * n})


SHAPES: dict[str, Callable[[Item], Item]] = {
    "payload string": lambda base: _padded(base, "payload", _string_payload),
    "multibyte payload": lambda base: _padded(base, "payload", _multibyte_payload),
    "control characters": lambda base: _padded(base, "payload", lambda n: {"S": "\x01\"\\" * n}),
    "binary attribute": lambda base: _padded(base, "blob", _binary),
    "map attribute": lambda base: _padded(base, "m", _map),
    "list attribute": lambda base: _padded(base, "l", lambda n: {"L": [{"N": str(i)} for i in range(n // 8)]}),
    "string set": lambda base: _padded(base, "ss", lambda n: {"SS": [f"{i:08d}" + "s" * 50 for i in range(n // 60)]}),
    "many small attributes": _many_small,
    "longest task id": lambda base: _padded({**base, "task_id": {"S": "i" * 2048}}, "payload", _string_payload),
    "malformed created_at": lambda base: _padded(base, "created_at", lambda n: {"S": "c" * n}),
    "long attribute names": lambda base: _padded(
        {**base, **{("n" * 60_000) + str(i): {"S": "v"} for i in range(6)}}, "pad", lambda n: {"S": "p" * n}
    ),
}  # fmt: skip


@pytest.mark.parametrize("completed", [False, True], ids=["set aside", "completed"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_shape_at_the_limit_is_archived_within_the_limit_and_reads_back_whole(
    client: Any, shape: str, completed: bool
) -> None:
    # Given a task of this shape at DynamoDB's 400 KB (within 10 bytes), as stored, set aside or completed
    base = _base() | ({"completed_at": {"N": "1700000100"}} if completed else {})
    item = SHAPES[shape](base)
    if item_bytes(item) < ITEM_BYTES - 10:  # a shape built in coarse steps: a string makes up the rest
        item = _padded(item, "zpad", lambda n: {"S": "z" * n})
    assert ITEM_BYTES - 10 <= item_bytes(item) <= ITEM_BYTES, (shape, item_bytes(item))
    client.put_item(TableName=TABLES.tasks, Item=item)
    task_id = item["task_id"]["S"]
    stored = client.get_item(TableName=TABLES.tasks, Key={"task_id": {"S": task_id}}, ConsistentRead=True)["Item"]
    store = TaskStore(client, TABLES, clock=FakeClock(), sleep=lambda _: None)

    # When it is archived (set aside with a long reason, or closed as completed)
    reason = None if completed else "set aside by the Orchestrator: " + "why " * 2_000
    assert store.archive(Task.from_item(stored), dead_reason=reason)

    # Then its closed row is within the limit, and the whole task reads back exactly as stored
    row = client.get_item(TableName=TABLES.closed, Key={"task_id": {"S": task_id}}, ConsistentRead=True)["Item"]
    assert item_bytes(row) <= ITEM_BYTES
    assert len(row.get("close_reason", {"S": ""})["S"]) <= REASON_CHARS + 400
    assert (CUT in row) == (PARTS in row)
    whole = store.closed_item(task_id)
    assert whole is not None
    assert {name: value for name, value in whole.items() if name not in CLOSING} == stored
    assert_conserved(client, [task_id], now=2_000_000_000, expected={CLOSED_COMPLETED if completed else CLOSED_DEAD: 1})


def test_an_item_that_fits_with_its_closing_attributes_is_closed_as_before(client: Any) -> None:
    item = _padded(_base(), "payload", lambda n: {"S": json.dumps({"b": "x" * n})}, ITEM_BYTES - 1_000)
    record = closed_record({**item, "closed_at": {"N": "1"}, "close_reason": {"S": "r"}})

    assert record.parts == []
    assert record.row == {**item, "closed_at": {"N": "1"}, "close_reason": {"S": "r"}}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=120_000), min_size=1, max_size=8),
    kinds=st.lists(st.sampled_from(["S", "B", "L", "M"]), min_size=8, max_size=8),
)
def test_any_mix_of_large_attributes_within_the_limit_is_archived_and_reads_back(
    client: Any, sizes: list[int], kinds: list[str]
) -> None:
    def value(kind: str, size: int) -> dict[str, Any]:
        if kind == "S":
            return {"S": "s" * size}
        if kind == "B":
            return {"B": b"\xff" * size}
        if kind == "L":
            return {"L": [{"S": "x" * 98}] * max(size // 100, 1)}
        return {"M": {f"k{i}": {"S": "y" * 96} for i in range(max(size // 100, 1))}}

    item = _base("mix")
    for index, size in enumerate(sizes):
        candidate = {**item, f"a{index}": value(kinds[index], size)}
        if item_bytes(candidate) <= ITEM_BYTES:
            item = candidate
    client.put_item(TableName=TABLES.tasks, Item=item)
    store = TaskStore(client, TABLES, clock=FakeClock(), sleep=lambda _: None)

    assert store.archive(Task.from_item(item), dead_reason="set aside")

    whole = store.closed_item("mix")
    assert whole is not None
    assert {name: value for name, value in whole.items() if name not in CLOSING} == item
    for row in client.scan(TableName=TABLES.closed)["Items"]:  # the next example starts from empty tables
        client.delete_item(TableName=TABLES.closed, Key={"task_id": row["task_id"]})


class _Silent:
    def dead_tasks(self, labourer_id: str, tasks: Any) -> list[str]:
        return []


def test_an_expired_task_too_large_to_retry_is_closed_as_dead_not_failed_every_run(client: Any) -> None:
    # Given a running task at the limit (claimed by sosw, or rewritten after its claim) that has expired
    clock = FakeClock()
    labourer = Labourer(id=LAB, arn="arn:aws:lambda:us-east-1:123456789012:function:x", max_attempts=3)
    markers = RunMarkers.at(clock.now, duration=labourer.duration, cooldown=labourer.cooldown)
    invoked = markers.expired - 10
    item = _padded(_base(greenfield=invoked) | {"attempts": {"N": "1"}}, "payload", lambda n: {"S": "x" * n})
    client.put_item(TableName=TABLES.tasks, Item=item)
    store = TaskStore(client, TABLES, clock=clock, sleep=lambda _: None)

    # When the Scavenger runs
    report = Scavenger(store, notifier=_Silent()).scavenge(labourer, markers, now=clock.now)  # type: ignore[arg-type]

    # Then it closed it as dead with its reason (a retry would add desired_launch_time and pass the limit)
    assert (report.errors, report.dead, report.retried) == ([], 1, 0)
    whole = store.closed_item("t1")
    assert whole is not None
    assert "too large to retry" in whole["close_reason"]["S"]
    assert {name: value for name, value in whole.items() if name not in CLOSING} == item


@pytest.mark.parametrize("report", ["completed", "failed"])
def test_a_report_whose_stats_would_pass_the_limit_is_recorded_without_them(client: Any, report: str) -> None:
    # Given a running task 1 KB below DynamoDB's limit
    clock = FakeClock()
    running = int(clock.now) + 31_557_600
    item = _padded(_base(greenfield=running) | {"attempts": {"N": "1"}}, "payload", _string_payload, ITEM_BYTES - 1_000)
    client.put_item(TableName=TABLES.tasks, Item=item)
    store = TaskStore(client, TABLES, clock=clock, sleep=lambda _: None)

    # When its labourer reports with stats and a result of 5 KB
    mark = store.mark_completed if report == "completed" else store.mark_failed
    outcome = mark("t1", stats={"rows": 3}, result={"log": "l" * 5_000}, attempt=1)

    # Then the report is recorded without them, saying so, and the task is otherwise as it was
    assert outcome.accepted, outcome.reason
    stored = client.get_item(TableName=TABLES.tasks, Key={"task_id": {"S": "t1"}}, ConsistentRead=True)["Item"]
    assert ("completed_at" if report == "completed" else "failed_at") in stored
    assert stored["foreman_report_cut"]["S"].startswith("stat_rows, result_log left out")
    assert not any(name.startswith(("stat_", "result_")) for name in stored)
    assert {name: value for name, value in stored.items() if name in item} == item
    assert item_bytes(stored) <= ITEM_BYTES
