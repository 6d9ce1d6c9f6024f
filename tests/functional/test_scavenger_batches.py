"""The Scavenger's run over many labourers (``scavenger_batches``): only labourers with work are scavenged, in
batches whose reports stay bounded whatever fails (issue 23; issue 22 item 16)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from foreman_core import run
from foreman_core.config import parse_config
from foreman_core.greenfield import RunMarkers
from foreman_core.scavenger import Scavenger
from foreman_core.scavenger_batches import (
    BATCH_LABOURERS,
    BATCH_REPORT_BYTES,
    MAX_BATCHES,
    RESERVED_MILLIS,
    batches,
    bounded_report,
    find_work,
    scavenge_batch,
)
from foreman_core.task_store import TaskStore
from tests.builders import FakeClock, attach_meter, payloads
from tests.functional.test_scavenger import (  # the module's tables and fixtures
    TABLES,
    RecordingNotifier,
    client,
    clock,
    notifier,
    shared_client,
    store,
)

__all__ = ["client", "clock", "notifier", "shared_client", "store"]  # fixtures, used by name

DURATION, COOLDOWN = 60, 30
NAMES = ("idle", "queued-only", "running", "completed", "due-retry", "later-retry")


def _config(names: tuple[str, ...] = NAMES) -> Any:
    labourers = {
        name: {"arn": f"arn:aws:lambda:us-east-1:123456789012:function:{name}", "duration": DURATION,
               "cooldown": COOLDOWN, "max_duration": 40}
        for name in names
    }  # fmt: skip
    return parse_config({"task_config": {"labourers": labourers}})


def _claim_all(store: TaskStore, labourer_id: str, clock: FakeClock) -> None:
    markers = RunMarkers.at(clock.now, duration=DURATION, cooldown=COOLDOWN)
    for task in store.next_tasks(labourer_id, 100, start=markers.start):
        assert store.claim(task.task_id, labourer_id, markers).claimed


def test_only_labourers_with_an_invoked_task_or_a_due_retry_have_work(
    client: Any, store: TaskStore, clock: FakeClock
) -> None:
    # Given six labourers: one with nothing, one with tasks queued only, one with a task running, one with a task
    # completed, one with a retry due now, one with a retry due in an hour
    config = _config()
    store.create_tasks("queued-only", payloads(2))
    for name in ("running", "completed"):
        store.create_tasks(name, payloads(1))
        _claim_all(store, name, clock)
    (completed,) = store.next_tasks("completed", 1, start=10**12)
    store.mark_completed(completed.task_id)
    store.create_delayed_task("due-retry", {"n": 1}, not_before=clock.now)
    store.create_delayed_task("later-retry", {"n": 1}, not_before=clock.now + 3600)
    clock.advance(1)
    state = run.load_config(config, now=clock.now, execution="local", deployment=TABLES)
    meter = attach_meter(client)

    # When the Scavenger looks for work
    found = find_work(state, config, store=store)

    # Then the running, completed and due-retry labourers have work, in one batch of their positions
    assert found["batches"] == [[NAMES.index("running"), NAMES.index("completed"), NAMES.index("due-retry")]]
    assert (found["labourers"], found["with_work"]) == (6, 3)
    assert "labourers" not in json.dumps(found["batches"])
    # and it took at most two Limit=1 queries a labourer (one when it has an invoked task)
    assert meter.calls == {"Query": 2 * 6 - 2}
    assert all(request.get("Limit") == 1 for _, request in meter.requests)


def test_batches_stay_few_however_many_labourers_have_work() -> None:
    assert batches([]) == []
    assert batches(list(range(3))) == [[0, 1, 2]]
    assert [len(batch) for batch in batches(list(range(25)))] == [BATCH_LABOURERS, BATCH_LABOURERS, 5]
    many = batches(list(range(10_000)))
    assert len(many) <= MAX_BATCHES
    assert sorted(index for batch in many for index in batch) == list(range(10_000))


def test_a_batch_report_is_bounded_whatever_fails() -> None:
    # Given 1,000 labourers with 1,024-character ids, each with five 300-character errors and 20 dead task ids
    lines = [
        {"labourer_id": f"{number:04d}" + "x" * 1020, "dead": 20, "lost_races": 1,
         "dead_task_ids": ["t" * 300] * 20, "errors": ["e" * 300] * 5, "errors_omitted": 95}
        for number in range(1000)
    ]  # fmt: skip

    report = bounded_report(lines, batch=7)

    # Then the report fits its bytes, keeps every count, and says how many lines it left out
    assert len(json.dumps(report, separators=(",", ":")).encode()) <= BATCH_REPORT_BYTES
    assert report["totals"] == {"batch": 7, "scavenged": 1000, "dead": 20_000, "lost_races": 1000,
                                "with_errors": 1000, "omitted": 1000 - len(report["labourers"])}  # fmt: skip
    # and the whole Map's result, at most MAX_BATCHES such reports, stays far below Step Functions' 256 KiB
    assert MAX_BATCHES * BATCH_REPORT_BYTES < 200 * 1024


def test_lines_with_errors_come_first_then_those_that_moved_most() -> None:
    lines = [{"labourer_id": "quiet"}, {"labourer_id": "busy", "archived": 5}, {"labourer_id": "bad", "errors": ["x"]}]
    report = bounded_report(lines, batch=0)
    assert [line["labourer_id"] for line in report["labourers"]] == ["bad", "busy", "quiet"]


def test_one_labourer_that_raises_is_its_own_line_and_the_others_go_on(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two labourers with a completed task each, and a scavenger that breaks on the first
    config = _config(("broken", "fine"))
    for name in ("broken", "fine"):
        (task,) = store.create_tasks(name, payloads(1))
        _claim_all(store, name, clock)
        store.mark_completed(task.task_id)
    state = run.load_config(config, now=clock.now + 1, execution="local", deployment=TABLES)
    real = Scavenger.scavenge

    def breaking(self: Scavenger, labourer: Any, markers: RunMarkers, *, now: float) -> Any:
        if labourer.id == "broken":
            raise KeyError("x" * 1000)
        return real(self, labourer, markers, now=now)

    monkeypatch.setattr(Scavenger, "scavenge", breaking)

    report = scavenge_batch({**state, "labourers": [0, 1], "batch": 0}, config, client=client, notifier=notifier)

    lines = {line["labourer_id"]: line for line in report["labourers"]}
    assert lines["fine"] == {"labourer_id": "fine", "archived": 1}
    (error,) = lines["broken"]["errors"]
    assert error.startswith("KeyError: ")
    assert len(error) <= 300
    assert report["totals"] == {"batch": 0, "scavenged": 2, "archived": 1, "with_errors": 1}


def test_a_batch_short_of_time_defers_its_other_labourers_to_the_next_run(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    config = _config(("first", "second", "third"))
    state = run.load_config(config, now=clock.now, execution="local", deployment=TABLES)
    left = iter([RESERVED_MILLIS + 1, RESERVED_MILLIS - 1, RESERVED_MILLIS - 1])

    report = scavenge_batch(
        {**state, "labourers": [0, 1, 2], "batch": 3},
        config,
        client=client,
        notifier=notifier,
        remaining_millis=lambda: next(left),
    )

    assert report == {"labourers": [{"labourer_id": "first"}], "totals": {"batch": 3, "scavenged": 1, "deferred": 2}}


def test_with_a_closed_tasks_ttl_an_archived_task_carries_its_expiry(client: Any, clock: FakeClock) -> None:
    from foreman_core.task_store import TTL_ATTRIBUTE
    from tests.builders import all_items

    store = TaskStore(client, TABLES, clock=clock, closed_ttl_days=30)
    (task,) = store.create_tasks("lab", payloads(1))
    _claim_all(store, "lab", clock)
    store.mark_completed(task.task_id)
    (completed,) = store.completed_tasks("lab", now=clock.now)
    assert store.archive(completed)
    (row,) = list(all_items(client, TABLES.closed))
    assert int(row[TTL_ATTRIBUTE]["N"]) == int(clock.now) + 30 * 86_400
    # and without it (the default, as sosw) a closed row never expires
    plain = TaskStore(client, TABLES, clock=clock)
    (other,) = plain.create_tasks("lab", payloads(1))
    _claim_all(plain, "lab", clock)
    plain.mark_completed(other.task_id)
    (done,) = plain.completed_tasks("lab", now=clock.now)
    assert plain.archive(done)
    assert sum(TTL_ATTRIBUTE in row for row in all_items(client, TABLES.closed)) == 1
