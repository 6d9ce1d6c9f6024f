"""What the Orchestrator's reads carry and cost, on moto: position reads without payloads, the fetch in pages it
lets go of, and the read units each read reports (``TaskStore.read_units``)."""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest

from foreman.local.patches.consumed_read_capacity import consumed_read_capacity
from foreman_core.config import parse_config
from foreman_core.queue_report import read_queue
from foreman_core.run import fetch_greenfield_tasks
from foreman_core.task_store import FETCH_PAGE, POSITION_ATTRIBUTES, TaskStore
from tests.builders import FakeClock, attach_meter, payloads

LAB = "some_function"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def _fetch(store: TaskStore, now: float, desired: int) -> dict[str, Any]:
    """FetchGreenfieldTasks for one labourer wanting ``desired`` tasks: its groups in ``invocations`` as one entry
    (``tasks``: every task taken, in order), with its report line (``line``)."""
    config = parse_config(
        {
            "task_config": {"labourers": {LAB: {"arn": ARN, "max_simultaneous_invocations": desired}}},
            "max_tasks_per_execution": 1000,
        },
        orchestrator_type="EXPRESS",
    )
    state = {
        "run": {
            "execution": "e",
            "id": "run-e",
            "start": int(now),
            "now": now,
            "claim_deadline": "2100-01-01T00:00:00Z",
        },
        "config": {"location": "memory:", "sha256": config.fingerprint(), "orchestrator_type": "EXPRESS"},
        "report": {LAB: {"status": 4, "desired": desired}},
    }
    fetched = fetch_greenfield_tasks(state, config, store=store)
    tasks = [task for group in fetched["invocations"] for task in group["tasks"]]
    return {"tasks": tasks, "groups": len(fetched["invocations"]), "line": fetched["report"][LAB]}


def test_reads_of_a_queue_position_ask_for_the_position_only(client: Any, store: TaskStore, clock: FakeClock) -> None:
    store.create_tasks(LAB, [{"blob": "x" * 5000} for _ in range(3)])
    meter = attach_meter(client)

    store.create_task(LAB, {"n": 1})  # reads the newest position first
    head, tail = store.queue_ends(LAB, start=clock.now + 1)
    read_queue(store, LAB, start=clock.now + 1, now=clock.now, step=1000)

    queries = [request for operation, request in meter.requests if operation == "Query"]
    assert len(queries) == 5  # create_task's newest position, the two ends, twice
    assert all("ProjectionExpression" in request for request in queries)
    assert head is not None
    assert tail is not None
    assert set(head.attributes) == set(tail.attributes) == set(POSITION_ATTRIBUTES)
    assert head.payload_text is None
    assert head.created_at == clock.now


def test_the_fetch_reads_the_queue_in_pages_of_at_most_fetch_page_items(client: Any, store: TaskStore) -> None:
    store.create_tasks(LAB, payloads(250))
    meter = attach_meter(client)

    entry = _fetch(store, time.time() + 10, 250)

    assert len(entry["tasks"]) == 250
    whole_reads = [request for _, request in meter.requests if "ProjectionExpression" not in request]
    assert [request["Limit"] for request in whole_reads] == [FETCH_PAGE, FETCH_PAGE, 50]


def test_the_fetch_holds_at_most_the_runs_payload_bytes_and_defers_the_rest(
    client: Any, store: TaskStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 400 queued tasks of 50 KB each (20 MB of payloads) and a run's payload budget lowered to 2 MB (128 MiB on
    # AWS: run_limits.RUN_PAYLOAD_BYTES_MOST): the claims carry the payloads, so the fetch holds what it takes
    monkeypatch.setenv("FOREMAN_RUN_PAYLOAD_BYTES", str(2_000_000))
    store.create_tasks(LAB, [{"blob": "x" * 50_000} for _ in range(400)])
    payload_bytes = 400 * 50_000
    now = time.time() + 10

    # When the whole queue is read into one list (what a fetch without the budget would hold), then fetched
    tracemalloc.start()
    try:
        everything = store.next_tasks(LAB, 400, start=int(now))
        _, whole_list_peak = tracemalloc.get_traced_memory()
        del everything
        tracemalloc.reset_peak()
        entry = _fetch(store, now, 400)
        _, fetch_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Then the fetch took the oldest tasks up to the budget (the task that reaches it included), deferred the rest,
    # and held about the budget and a page (1 MB, a few MB with moto's and botocore's copies) at a time
    taken = len(entry["tasks"])
    assert taken == 40  # 40 x 50,011 bytes of JSON text first reach 2,000,000
    assert (entry["line"]["fetched"], entry["line"]["deferred"]) == (40, 360)
    assert entry["groups"] >= 2  # 50 KB payloads: a few a child
    assert whole_list_peak > payload_bytes
    assert fetch_peak < payload_bytes / 3


def test_every_read_adds_the_units_dynamodb_reports(client: Any, store: TaskStore, clock: FakeClock) -> None:
    # Given 10 tasks whose items are each between 8 KB and 12 KB
    store.create_tasks(LAB, [{"blob": "x" * 10_000} for _ in range(10)])
    assert store.take_read_units() == 1.0  # create_tasks' position read, at stock moto's constant (1.0 a Query)

    with consumed_read_capacity():
        store.next_tasks(LAB, 10, start=int(clock.now) + 1)
        fetched = store.take_read_units()
        store.queue_ends(LAB, start=int(clock.now) + 1)  # two items, read whole by DynamoDB though projected
        ends = store.take_read_units()
        store.get_task(store.next_tasks(LAB, 1, start=int(clock.now) + 1)[0].task_id)  # a consistent GetItem
        one_and_get = store.take_read_units()

    item_blocks = 3  # 10,000 bytes of payload and ~100 of the rest: three 4 KB blocks
    assert fetched == (10 * 10_100 // 4096 + 1) / 2 == 12.5  # one page summed, rounded up, half price on an index
    assert ends == 2 * item_blocks / 2
    assert one_and_get == item_blocks / 2 + item_blocks
    assert store.read_units == 0.0
