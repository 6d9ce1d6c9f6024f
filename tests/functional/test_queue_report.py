"""The queue reading behind QueueDepth and OldestQueuedAgeSeconds, on moto: what it reads, and when the estimate is
exact and when it is not."""

from __future__ import annotations

from typing import Any

import pytest

from foreman_core.queue_report import QueueReport, estimate_depth, read_queue
from foreman_core.task_store import TaskStore
from tests.builders import T0, FakeClock, attach_meter, markers_at, payloads

LAB = "some_function"
STEP = 1000


def test_an_empty_queue_is_depth_0_and_age_0(store: TaskStore) -> None:
    assert read_queue(store, LAB, start=T0, now=T0, step=STEP).report == QueueReport(0, True, 0.0)


def test_the_estimate_is_exact_for_a_queue_created_in_batches_and_drained_from_the_head(
    store: TaskStore, clock: FakeClock
) -> None:
    # Given 30 tasks created in three batches, 10 of them claimed from the head since
    for _ in range(3):
        store.create_tasks(LAB, payloads(10))
        clock.advance(60)
    run = markers_at(clock.advance(60))
    for task in store.next_tasks(LAB, 10, start=run.start):
        assert store.claim(task.task_id, LAB, run).claimed

    # When the queue is measured
    report = read_queue(store, LAB, start=run.start, now=clock.now, step=STEP).report

    # Then the estimate counts the 20 left, and the age is the head's: the second batch's first task, 180 s old
    assert report.depth == 20 == store.queue_length(LAB, start=run.start)
    assert report.exact is False
    assert report.oldest_age_seconds == pytest.approx(180.0)


def test_the_estimate_reads_two_items_whatever_the_queues_length(
    client: Any, store: TaskStore, clock: FakeClock
) -> None:
    store.create_tasks(LAB, payloads(300))
    meter = attach_meter(client)

    report = read_queue(store, LAB, start=clock.now + 1, now=clock.now, step=STEP).report

    assert report.depth == 300
    assert meter.calls == {"Query": 2}
    assert meter.returned["Query"] == 2
    assert all(request["Limit"] == 1 for _, request in meter.requests)


def test_the_exact_count_reads_the_whole_queue(client: Any, store: TaskStore, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(300))
    meter = attach_meter(client)

    report = read_queue(store, LAB, start=clock.now + 1, now=clock.now, step=STEP, exact=True).report

    assert (report.depth, report.exact) == (300, True)
    assert meter.scanned["Query"] == 2 + 300  # the two ends, then every queued item for the COUNT


def test_retried_tasks_packed_ahead_of_the_head_are_undercounted_by_the_estimate(
    store: TaskStore, clock: FakeClock
) -> None:
    # Given 5 queued tasks, and 3 retried ones put just ahead of the head (positions head-3 .. head-1)
    store.create_tasks(LAB, payloads(5))
    for number in range(3):
        store.create_delayed_task(LAB, {"retry": number}, not_before=clock.now)
    clock.advance(1)
    assert len(store.requeue_due_retries(LAB)) == 3

    estimate = read_queue(store, LAB, start=clock.now, now=clock.now, step=STEP).report
    exact = read_queue(store, LAB, start=clock.now, now=clock.now, step=STEP, exact=True).report

    # Then the estimate sees the span of the 5 plus 3/1000 of a step: 5; the count says 8
    assert (estimate.depth, exact.depth) == (5, 8)


def test_estimate_depth() -> None:
    assert estimate_depth(2000, 2000, STEP) == 1
    assert estimate_depth(2000, 11000, STEP) == 10
    assert estimate_depth(1997, 11000, STEP) == 10  # packed retries at the head add nothing
    assert estimate_depth(5000, 4000, STEP) == 1  # never below one task for a non-empty queue
