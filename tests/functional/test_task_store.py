"""TaskStore on moto: every operation, on sosw's table schemas, with the clock in the test's hands."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from foreman_core.config import Tables
from foreman_core.greenfield import CLAIM_MARKER_SLACK, GREENFIELD_INVOCATION_DELTA
from foreman_core.task_store import (
    CLAIM_CONDITION,
    CLAIM_UPDATE,
    RELEASE_CONDITION,
    RELEASE_UPDATE,
    InvalidPayloadError,
    Task,
    TaskExistsError,
    TaskStore,
    UnprocessedWritesError,
    Where,
)
from tests.builders import (
    FakeClock,
    all_items,
    attach_meter,
    markers_at,
    payload,
    payloads,
)

LAB = "some_function"
OTHER = "other_function"
TABLES = Tables()
EXPIRY = 900 + 300


def stored(client: Any, table: str, **key: str) -> dict[str, Any] | None:
    """The raw item, or None."""
    item = client.get_item(TableName=table, Key={k: {"S": v} for k, v in key.items()}, ConsistentRead=True)
    return item.get("Item")


def run_and_claim(store: TaskStore, clock: FakeClock, count: int, labourer: str = LAB) -> list[Task]:
    """A run at the clock's time fetches and claims ``count`` tasks; returns the pre-claim tasks."""
    run = markers_at(clock.now)
    claimed = []
    for task in store.next_tasks(labourer, count, start=run.start):
        result = store.claim(task.task_id, labourer, run)
        assert result.claimed
        assert result.task is not None
        claimed.append(result.task)
    return claimed


def expire_and_retry(store: TaskStore, clock: FakeClock, *, delay: float = 120) -> list[Task]:
    """Move the clock past expiry and move every expired task to the retry table."""
    clock.advance(EXPIRY + 1)
    expired = store.expired_tasks(LAB, markers_at(clock.now))
    assert all(store.move_to_retry(task, delay=delay) for task in expired)
    return expired


# ---------------------------------------------------------------------------------------------------------------------
# Creating


def test_create_tasks_queues_a_batch_in_order_from_2000(store: TaskStore, client: Any, clock: FakeClock) -> None:
    created = store.create_tasks(LAB, [payload(0), payload(1), json.dumps(payload(2))])

    assert [task.greenfield for task in created] == [2000, 3000, 4000]
    assert [task.payload for task in created] == [payload(0), payload(1), payload(2)]
    item = stored(client, TABLES.tasks, task_id=created[0].task_id)
    assert item is not None
    assert item["labourer_id"] == {"S": LAB}
    assert item["greenfield"] == {"N": "2000"}
    assert item["attempts"] == {"N": "0"}
    assert float(item["created_at"]["N"]) == clock.now
    assert json.loads(item["payload"]["S"]) == payload(0)
    assert len(created[0].task_id) == 32

    fetched = store.next_tasks(LAB, 10, start=markers_at(clock.now).start)
    assert [task.task_id for task in fetched] == [task.task_id for task in created]


def test_create_task_appends_after_the_newest_with_a_conditional_put(store: TaskStore, client: Any) -> None:
    store.create_tasks(LAB, payloads(3))
    store.create_tasks(OTHER, payloads(5))
    meter = attach_meter(client)

    task = store.create_task(LAB, {"x": 1})

    assert task.greenfield == 5000
    assert task.attempts == 0
    (request,) = [req for name, req in meter.requests if name == "PutItem"]
    assert request["ConditionExpression"] == "attribute_not_exists(task_id)"
    assert meter.calls == {"Query": 1, "PutItem": 1}


def test_create_task_with_an_existing_id_is_refused_and_keeps_the_original(store: TaskStore) -> None:
    store.create_task(LAB, {"v": "original"}, task_id="fixed-id")

    with pytest.raises(TaskExistsError, match="fixed-id"):
        store.create_task(LAB, {"v": "impostor"}, task_id="fixed-id")

    task = store.get_task("fixed-id")
    assert task is not None
    assert task.payload == {"v": "original"}


def test_a_json_string_payload_is_stored_verbatim(store: TaskStore, client: Any) -> None:
    text = '{"b": 2, "a": [1, 2, {"nested": true}]}'
    task = store.create_task(LAB, text)

    item = stored(client, TABLES.tasks, task_id=task.task_id)
    assert item is not None
    assert item["payload"] == {"S": text}
    assert store.create_task(LAB).payload == {}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ([1, 2], "list"),
        ("[1, 2]", "JSON list, expected an object"),
        ("not json", "string is not JSON"),
        (42, "int"),
        ({"when": {1, 2}}, "not JSON-serialisable"),
        ({"blob": "x" * 400_000}, "400 KB"),
    ],
)
def test_an_invalid_payload_is_rejected_and_nothing_is_written(
    store: TaskStore, client: Any, bad: Any, reason: str
) -> None:
    meter = attach_meter(client)

    with pytest.raises(InvalidPayloadError, match="payload #2") as caught:
        store.create_tasks(LAB, [payload(0), payload(1), bad, payload(3)])

    assert caught.value.index == 2
    assert reason in str(caught.value)
    assert meter.calls == {}
    assert list(all_items(client, TABLES.tasks)) == []
    with pytest.raises(InvalidPayloadError, match=r"^invalid payload: "):
        store.create_task(LAB, bad)


def test_batches_beyond_25_are_written_in_chunks_after_one_query(store: TaskStore, client: Any) -> None:
    meter = attach_meter(client)

    created = store.create_tasks(LAB, payloads(60))

    assert meter.calls == {"Query": 1, "BatchWriteItem": 3}
    sizes = [len(req["RequestItems"][TABLES.tasks]) for name, req in meter.requests if name == "BatchWriteItem"]
    assert sizes == [25, 25, 10]
    assert [task.greenfield for task in created] == list(range(2000, 62000, 1000))
    assert store.queue_length(LAB) == 60
    assert store.create_tasks(LAB, []) == []
    assert meter.calls == {"Query": 2, "BatchWriteItem": 3}


class ThrottlingClient:
    """Delegates to a real client, but BatchWriteItem leaves the last ``keep`` items unprocessed ``times`` times."""

    def __init__(self, client: Any, *, times: int, keep: int = 5) -> None:
        self._client = client
        self.remaining = times
        self.keep = keep

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        ((table, requests),) = RequestItems.items()
        if self.remaining <= 0:
            return self._client.batch_write_item(RequestItems=RequestItems)
        self.remaining -= 1
        written, unprocessed = requests[: -self.keep], requests[-self.keep :]
        if written:
            self._client.batch_write_item(RequestItems={table: written})
        return {"UnprocessedItems": {table: unprocessed}}


def test_unprocessed_items_are_retried_with_backoff_until_written(client: Any, clock: FakeClock) -> None:
    sleeps: list[float] = []
    store = TaskStore(ThrottlingClient(client, times=3), TABLES, clock=clock, sleep=sleeps.append)

    created = store.create_tasks(LAB, payloads(30))

    assert len(sleeps) == 3
    assert all(0 <= pause <= 2.0 for pause in sleeps)
    assert {item["task_id"]["S"] for item in all_items(client, TABLES.tasks)} == {t.task_id for t in created}


def test_writes_that_never_go_in_are_reported_not_lost(client: Any, clock: FakeClock) -> None:
    throttled = ThrottlingClient(client, times=10_000)
    store = TaskStore(throttled, TABLES, clock=clock, sleep=lambda _: None, max_write_attempts=4)

    with pytest.raises(UnprocessedWritesError) as caught:
        store.create_tasks(LAB, payloads(30))

    in_table = {item["task_id"]["S"] for item in all_items(client, TABLES.tasks)}
    assert caught.value.written == len(in_table) == 20
    assert len(caught.value.unwritten_ids) == 10
    assert in_table.isdisjoint(caught.value.unwritten_ids)


# ---------------------------------------------------------------------------------------------------------------------
# Reading the queue


def test_next_tasks_reads_only_available_tasks_of_the_labourer(store: TaskStore, clock: FakeClock) -> None:
    created = store.create_tasks(LAB, payloads(5))
    store.create_tasks(OTHER, payloads(5))
    run_and_claim(store, clock, 2)

    fetched = store.next_tasks(LAB, 10, start=markers_at(clock.now).start)

    assert [task.task_id for task in fetched] == [task.task_id for task in created[2:]]
    assert store.next_tasks(LAB, 1, start=markers_at(clock.now).start)[0].task_id == created[2].task_id
    assert store.next_tasks(LAB, 0, start=markers_at(clock.now).start) == []


class PagingClient:
    """Answers Query with short pages, as DynamoDB does when a 1 MB page fills up before ``Limit``."""

    def __init__(self, items: list[dict[str, Any]], page: int) -> None:
        self.items = items
        self.page = page
        self.limits: list[int] = []

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.limits.append(kwargs["Limit"])
        offset = int(kwargs.get("ExclusiveStartKey", {}).get("offset", {}).get("N", "0"))
        size = min(self.page, kwargs["Limit"])
        chunk = self.items[offset : offset + size]
        response: dict[str, Any] = {"Items": chunk, "Count": len(chunk), "ScannedCount": len(chunk)}
        if offset + size < len(self.items):
            response["LastEvaluatedKey"] = {"offset": {"N": str(offset + size)}}
        return response


def test_next_tasks_paginates_only_when_a_page_came_back_short() -> None:
    items = [
        {"task_id": {"S": f"t{i}"}, "labourer_id": {"S": LAB}, "greenfield": {"N": str(2000 + i)}} for i in range(10)
    ]
    paging = PagingClient(items, page=3)

    fetched = TaskStore(paging, TABLES).next_tasks(LAB, 7, start=1)

    assert [task.task_id for task in fetched] == [f"t{i}" for i in range(7)]
    assert paging.limits == [7, 4, 1]


def test_queue_length_counts_queued_tasks_only(store: TaskStore, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(7))
    run_and_claim(store, clock, 3)

    assert store.queue_length(LAB) == 4
    assert store.queue_length(OTHER) == 0


def test_count_running_counts_claims_of_overlapping_runs_but_not_completed_or_expired(
    store: TaskStore, clock: FakeClock
) -> None:
    store.create_tasks(LAB, payloads(10))
    early = run_and_claim(store, clock, 2)
    clock.advance(EXPIRY + 1)
    ours = markers_at(clock.now)
    run_and_claim(store, clock, 3)
    clock.advance(1)
    later = run_and_claim(store, clock, 2)
    store.mark_completed(later[0].task_id)

    assert store.count_running(LAB, ours) == 3 + 1
    assert len(store.expired_tasks(LAB, ours)) == len(early) == 2
    assert store.count_running(OTHER, ours) == 0


def test_count_running_stops_at_the_highest_greenfield_a_claim_can_write(
    store: TaskStore, clock: FakeClock, client: Any
) -> None:
    # Given a run's markers, a claim by a run that started CLAIM_MARKER_SLACK seconds after it (at the ceiling), and
    # hand-written unfinished tasks one second above the ceiling and two years ahead, and a completed one far ahead
    ours = markers_at(clock.now)
    store.create_tasks(LAB, payloads(2))
    clock.advance(CLAIM_MARKER_SLACK)
    (latest,) = run_and_claim(store, clock, 1)
    assert store.get_task(latest.task_id).greenfield == ours.claim_ceiling  # type: ignore[union-attr]
    far = {"above": ours.claim_ceiling + 1, "years": int(clock.now) + 2 * GREENFIELD_INVOCATION_DELTA}
    for task_id, greenfield in far.items():
        client.put_item(TableName=TABLES.tasks, Item=_hand_written(task_id, greenfield))
    client.put_item(TableName=TABLES.tasks, Item={**_hand_written("done", far["years"]), "completed_at": {"N": "1"}})

    # Then the claim counts as running, the tasks above the ceiling do not, and they are what far_future_tasks lists
    assert store.count_running(LAB, ours) == 1
    assert sorted(task.task_id for task in store.far_future_tasks(LAB, ours)) == ["above", "years"]
    assert [task.task_id for task in store.far_future_tasks(LAB, ours, limit=1)] == ["above"]


def _hand_written(task_id: str, greenfield: int) -> dict[str, Any]:
    return {
        "task_id": {"S": task_id},
        "labourer_id": {"S": LAB},
        "greenfield": {"N": str(greenfield)},
        "attempts": {"N": "0"},
        "created_at": {"N": "1"},
        "payload": {"S": "{}"},
    }


# ---------------------------------------------------------------------------------------------------------------------
# Claim and release


def test_a_claim_wins_once(store: TaskStore, client: Any, clock: FakeClock) -> None:
    (task,) = store.create_tasks(LAB, [payload(7)])
    run = markers_at(clock.now)
    meter = attach_meter(client)

    first = store.claim(task.task_id, LAB, run)
    second = store.claim(task.task_id, LAB, run)
    clock.advance(1)
    overlapping = store.claim(task.task_id, LAB, markers_at(clock.now))

    assert first.claimed
    assert first.invoked == run.start + GREENFIELD_INVOCATION_DELTA
    assert first.task is not None
    assert (first.previous_greenfield, first.previous_attempts) == (2000, 0)
    assert first.task.payload == payload(7)
    assert not second.claimed
    assert second.task is None
    assert second.previous_greenfield is None
    assert not overlapping.claimed
    now_stored = store.get_task(task.task_id)
    assert now_stored is not None
    assert (now_stored.greenfield, now_stored.attempts) == (run.invoked, 1)
    update = next(req for name, req in meter.requests if name == "UpdateItem")
    assert update["UpdateExpression"] == CLAIM_UPDATE
    assert update["ConditionExpression"] == CLAIM_CONDITION
    assert update["ReturnValues"] == "ALL_OLD"


def test_a_claim_of_an_unknown_or_foreign_task_is_refused_without_writing(
    store: TaskStore, client: Any, clock: FakeClock
) -> None:
    (task,) = store.create_tasks(OTHER, [payload(1)])
    run = markers_at(clock.now)

    assert not store.claim(task.task_id, LAB, run).claimed
    assert not store.claim("no-such-task", LAB, run).claimed
    assert stored(client, TABLES.tasks, task_id="no-such-task") is None
    assert store.get_task(task.task_id) == task


def test_release_restores_position_and_attempts(store: TaskStore, client: Any, clock: FakeClock) -> None:
    created = store.create_tasks(LAB, payloads(3))
    run = markers_at(clock.now)
    claim = store.claim(created[0].task_id, LAB, run)
    assert claim.previous_greenfield is not None
    assert claim.previous_attempts is not None
    assert claim.claim_id is not None
    meter = attach_meter(client)

    released = store.release(
        created[0].task_id,
        previous_greenfield=claim.previous_greenfield,
        previous_attempts=claim.previous_attempts,
        claim_id=claim.claim_id,
    )

    assert released
    assert store.get_task(created[0].task_id) == created[0]
    assert store.next_tasks(LAB, 1, start=run.start)[0].task_id == created[0].task_id
    (request,) = [req for name, req in meter.requests if name == "UpdateItem"]
    assert (request["UpdateExpression"], request["ConditionExpression"]) == (RELEASE_UPDATE, RELEASE_CONDITION)


def test_release_is_refused_unless_the_claim_is_ours_and_the_task_not_completed(
    store: TaskStore, clock: FakeClock
) -> None:
    first, second = store.create_tasks(LAB, payloads(2))
    run = markers_at(clock.now)
    mine = store.claim(first.task_id, LAB, run, claim_id="mine")
    completed = store.claim(second.task_id, LAB, run, claim_id="mine")
    assert mine.claimed
    assert completed.claimed

    assert not store.release(first.task_id, previous_greenfield=2000, previous_attempts=0, claim_id="another")
    assert store.release(first.task_id, previous_greenfield=2000, previous_attempts=0, claim_id="mine")
    # a retry whose first answer was lost finds its own release and says so, writing the same values
    assert store.release(first.task_id, previous_greenfield=2000, previous_attempts=0, claim_id="mine")
    assert store.get_task(first.task_id) == first
    assert store.mark_completed(second.task_id).accepted
    assert not store.release(second.task_id, previous_greenfield=3000, previous_attempts=0, claim_id="mine")
    still = store.get_task(second.task_id)
    assert still is not None
    assert still.greenfield == run.invoked
    assert not store.release("no-such-task", previous_greenfield=1, previous_attempts=0, claim_id="mine")


def test_a_claim_of_a_released_task_needs_its_seen_values_again(store: TaskStore, clock: FakeClock) -> None:
    (task,) = store.create_tasks(LAB, payloads(1))
    run = markers_at(clock.now)
    assert store.claim(task.task_id, LAB, run, claim_id="mine").claimed
    assert store.release(task.task_id, previous_greenfield=2000, previous_attempts=0, claim_id="mine")

    # the mark alone no longer admits the claim once it was released: a late retry claims nothing
    stale = store.claim(task.task_id, LAB, run, seen=replace(task, attempts=5), claim_id="mine")

    assert not stale.claimed
    assert store.get_task(task.task_id) == task


# ---------------------------------------------------------------------------------------------------------------------
# Completion and failure reports


def test_a_completion_is_accepted_once(store: TaskStore, client: Any, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(1))
    (task,) = run_and_claim(store, clock, 1)
    clock.advance(42.5)

    first = store.mark_completed(task.task_id, stats={"rows": 10, "ratio": 0.5}, result='{"status": "ok"}', attempt=1)
    second = store.mark_completed(task.task_id)

    assert first.accepted
    assert first.where == Where.COMPLETED
    assert first.task is not None
    assert first.task.completed_at == int(clock.now)
    item = stored(client, TABLES.tasks, task_id=task.task_id)
    assert item is not None
    assert item["completed_at"] == {"N": str(int(clock.now))}
    assert item["stat_rows"] == {"N": "10"}
    assert item["stat_ratio"] == {"N": "0.5"}
    assert item["result_status"] == {"S": "ok"}
    assert not second.accepted
    assert second.reason == "late: task already completed"
    assert second.where == Where.COMPLETED


def test_completing_an_unknown_task_creates_no_item(store: TaskStore, client: Any) -> None:
    result = store.mark_completed("ghost", stats={"rows": 1})
    failed = store.mark_failed("ghost", labourer_id=LAB)

    assert (result.accepted, result.reason, result.where) == (False, "unknown task", Where.UNKNOWN)
    assert (failed.accepted, failed.reason) == (False, "unknown task")
    assert list(all_items(client, TABLES.tasks)) == []


def test_a_ghost_item_left_by_sosw_is_not_taken_for_a_task(store: TaskStore, client: Any) -> None:
    client.put_item(TableName=TABLES.tasks, Item={"task_id": {"S": "ghost"}, "completed_at": {"N": "1"}})

    result = store.mark_completed("ghost")

    assert not result.accepted
    assert result.reason is not None
    assert result.reason.startswith("unknown task")


def test_an_expired_task_can_still_complete(store: TaskStore, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(1))
    (task,) = run_and_claim(store, clock, 1)
    clock.advance(EXPIRY + 600)

    result = store.mark_completed(task.task_id)

    assert result.accepted
    assert store.expired_tasks(LAB, markers_at(clock.now)) == []


def test_a_late_completion_of_a_retried_task_is_reported_not_recorded(store: TaskStore, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(1))
    (task,) = run_and_claim(store, clock, 1)
    expire_and_retry(store, clock, delay=120)

    waiting = store.mark_completed(task.task_id, labourer_id=LAB)
    without_labourer = store.mark_completed(task.task_id)
    clock.advance(120)
    (requeued,) = store.requeue_due_retries(LAB)
    queued_again = store.mark_completed(task.task_id, labourer_id=LAB)

    assert (waiting.accepted, waiting.reason, waiting.where) == (False, "late: task is waiting for retry", Where.RETRY)
    assert without_labourer.reason == "unknown task"
    assert (queued_again.accepted, queued_again.reason) == (False, "late: task is queued again (retried)")
    assert queued_again.where == Where.QUEUED
    current = store.get_task(task.task_id)
    assert current is not None
    assert not current.is_completed
    assert current.greenfield == requeued.greenfield


def test_a_report_for_an_older_attempt_is_refused(store: TaskStore, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(1))
    (task,) = run_and_claim(store, clock, 1)
    expire_and_retry(store, clock, delay=0)
    store.requeue_due_retries(LAB)
    run_and_claim(store, clock, 1)

    stale = store.mark_completed(task.task_id, attempt=1)
    current = store.mark_completed(task.task_id, attempt=2)

    assert not stale.accepted
    assert stale.reason == "late: attempt 1 reported, but the task is on attempt 2"
    assert stale.where == Where.RUNNING
    assert current.accepted


def test_a_report_for_a_never_invoked_task_is_refused(store: TaskStore) -> None:
    (task,) = store.create_tasks(LAB, payloads(1))

    result = store.mark_completed(task.task_id)

    assert (result.accepted, result.reason, result.where) == (False, "task is queued and was never invoked", "queued")
    assert store.get_task(task.task_id) == task


def test_mark_failed_counts_failures_and_keeps_the_schedule(store: TaskStore, client: Any, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(1))
    (task,) = run_and_claim(store, clock, 1)
    run = markers_at(clock.now)

    first = store.mark_failed(task.task_id, result={"error": "boom"})
    clock.advance(5)
    second = store.mark_failed(task.task_id, stats='{"rows": 3}')

    assert first.accepted
    assert second.accepted
    item = stored(client, TABLES.tasks, task_id=task.task_id)
    assert item is not None
    assert item["failed_attempts"] == {"N": "2"}
    assert item["failed_at"] == {"N": str(int(clock.now))}
    assert item["result_error"] == {"S": "boom"}
    assert item["stat_rows"] == {"N": "3"}
    assert "completed_at" not in item
    assert item["greenfield"] == {"N": str(run.invoked)}
    assert store.count_running(LAB, run) == 1
    store.mark_completed(task.task_id)
    assert store.mark_failed(task.task_id).reason == "late: task already completed"


def test_failed_tasks_are_those_whose_current_attempt_reported_a_failure(
    store: TaskStore, client: Any, clock: FakeClock
) -> None:
    store.create_tasks(LAB, payloads(3))
    failing, fine, stale = run_and_claim(store, clock, 3)
    store.mark_failed(failing.task_id)
    store.mark_failed(stale.task_id)
    # the stale one is retried and claimed again later: its old failure report is not about this attempt
    client.update_item(  # queued again, as the Scavenger's retry puts it back
        TableName=TABLES.tasks,
        Key={"task_id": {"S": stale.task_id}},
        UpdateExpression="SET greenfield = :queued, attempts = :zero",
        ExpressionAttributeValues={":queued": {"N": str(stale.greenfield)}, ":zero": {"N": "0"}},
    )
    clock.advance(60)
    rerun = markers_at(clock.now)
    assert store.claim(stale.task_id, LAB, rerun).claimed

    failed = store.failed_tasks(LAB, rerun)

    assert [task.task_id for task in failed] == [failing.task_id]
    assert store.failed_this_attempt(failed[0])
    assert store.failed_tasks(LAB, rerun, limit=0) == []
    assert fine.task_id not in {task.task_id for task in failed}


def test_invalid_stats_are_rejected_before_writing(store: TaskStore, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(1))
    (task,) = run_and_claim(store, clock, 1)

    with pytest.raises(InvalidPayloadError, match="stats"):
        store.mark_completed(task.task_id, stats="[1, 2]")
    with pytest.raises(InvalidPayloadError, match="result"):
        store.mark_completed(task.task_id, result="nope")

    current = store.get_task(task.task_id)
    assert current is not None
    assert not current.is_completed


def test_reserved_words_in_stats_are_fine(store: TaskStore, client: Any, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(1))
    (task,) = run_and_claim(store, clock, 1)

    assert store.mark_completed(task.task_id, result={"count": 1, "values": [1, "a"], "nested": {"k": None}}).accepted

    item = stored(client, TABLES.tasks, task_id=task.task_id)
    assert item is not None
    assert item["result_values"] == {"L": [{"N": "1"}, {"S": "a"}]}
    assert item["result_nested"] == {"M": {"k": {"NULL": True}}}


# ---------------------------------------------------------------------------------------------------------------------
# Expired and completed tasks, archive, retry, requeue


def test_expired_tasks_lists_only_expired_unfinished_tasks(store: TaskStore, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(6))
    early = run_and_claim(store, clock, 3)
    store.mark_completed(early[0].task_id)
    clock.advance(EXPIRY + 1)
    run_and_claim(store, clock, 2)
    run = markers_at(clock.now)

    expired = store.expired_tasks(LAB, run)

    assert {task.task_id for task in expired} == {task.task_id for task in early[1:]}
    assert all(task.attempts == 1 for task in expired)
    assert len(store.expired_tasks(LAB, run, limit=1)) == 1
    assert store.expired_tasks(LAB, run, limit=0) == []


def test_completed_tasks_lists_tasks_waiting_to_be_archived(store: TaskStore, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(4))
    claimed = run_and_claim(store, clock, 3)
    store.mark_completed(claimed[0].task_id)
    store.mark_completed(claimed[2].task_id)

    completed = store.completed_tasks(LAB)

    assert {task.task_id for task in completed} == {claimed[0].task_id, claimed[2].task_id}
    assert all(task.is_completed for task in completed)
    assert len(store.completed_tasks(LAB, limit=1)) == 1


def test_archive_moves_a_completed_task_in_one_transaction(store: TaskStore, client: Any, clock: FakeClock) -> None:
    store.create_tasks(LAB, [payload(1, tags=["a", "b"])])
    (task,) = run_and_claim(store, clock, 1)
    store.mark_completed(task.task_id, stats={"rows": 5})
    clock.advance(30)
    (completed,) = store.completed_tasks(LAB)
    assert not store.move_to_retry(completed, delay=0)
    meter = attach_meter(client)

    assert store.archive(completed)

    assert meter.calls == {"TransactWriteItems": 1}
    assert store.get_task(task.task_id) is None
    closed = stored(client, TABLES.closed, task_id=task.task_id)
    assert closed is not None
    assert json.loads(closed["payload"]["S"]) == payload(1, tags=["a", "b"])
    assert closed["labourer_id_task_status"] == {"S": f"{LAB}_1"}
    assert closed["closed_at"] == {"N": str(int(clock.now))}
    assert closed["stat_rows"] == {"N": "5"}
    assert closed["attempts"] == {"N": "1"}
    assert "close_reason" not in closed
    assert store.locate(task.task_id).where == Where.CLOSED_COMPLETED
    assert not store.archive(completed)


def test_archive_closes_a_dead_task_with_its_reason(store: TaskStore, client: Any, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(1))
    run_and_claim(store, clock, 1)
    clock.advance(EXPIRY + 1)
    (dead,) = store.expired_tasks(LAB, markers_at(clock.now))

    assert store.archive(dead, dead_reason="attempts exhausted (1 of 1)")

    closed = stored(client, TABLES.closed, task_id=dead.task_id)
    assert closed is not None
    assert closed["labourer_id_task_status"] == {"S": f"{LAB}_0"}
    assert closed["close_reason"] == {"S": "attempts exhausted (1 of 1)"}
    assert json.loads(closed["payload"]["S"]) == payload(0)
    late = store.mark_completed(dead.task_id)
    assert (late.accepted, late.reason, late.where) == (False, "late: task is closed (dead)", Where.CLOSED_DEAD)


def test_archive_is_refused_when_the_task_changed_since_it_was_read(
    store: TaskStore, client: Any, clock: FakeClock
) -> None:
    store.create_tasks(LAB, payloads(1))
    run_and_claim(store, clock, 1)
    clock.advance(EXPIRY + 1)
    (dead,) = store.expired_tasks(LAB, markers_at(clock.now))
    assert store.mark_completed(dead.task_id).accepted

    assert not store.archive(dead, dead_reason="attempts exhausted")
    assert not store.move_to_retry(dead, delay=60)

    assert list(all_items(client, TABLES.closed)) == []
    assert list(all_items(client, TABLES.retry)) == []
    assert store.locate(dead.task_id).where == Where.COMPLETED


def test_move_to_retry_moves_an_expired_task_in_one_transaction(
    store: TaskStore, client: Any, clock: FakeClock
) -> None:
    store.create_tasks(LAB, payloads(1))
    run_and_claim(store, clock, 1)
    clock.advance(EXPIRY + 1)
    (expired,) = store.expired_tasks(LAB, markers_at(clock.now))

    assert store.move_to_retry(expired, delay=120.2)

    assert store.get_task(expired.task_id) is None
    row = stored(client, TABLES.retry, labourer_id=LAB, task_id=expired.task_id)
    assert row is not None
    assert row["desired_launch_time"] == {"N": str(int(clock.now) + 121)}
    assert row["attempts"] == {"N": "1"}
    assert json.loads(row["payload"]["S"]) == payload(0)
    assert store.locate(expired.task_id, labourer_id=LAB).where == Where.RETRY
    assert not store.move_to_retry(expired, delay=120)


def test_requeue_keeps_the_retried_batch_in_order_ahead_of_queued_tasks(
    store: TaskStore, client: Any, clock: FakeClock
) -> None:
    store.create_tasks(LAB, payloads(3))
    run_and_claim(store, clock, 3)
    clock.advance(EXPIRY + 1)
    expired = store.expired_tasks(LAB, markers_at(clock.now))
    for delay, task in zip((10, 20, 30), expired, strict=True):
        assert store.move_to_retry(task, delay=delay)
    queued = store.create_tasks(LAB, payloads(2, first=100))
    clock.advance(30)
    meter = attach_meter(client)

    requeued = store.requeue_due_retries(LAB)

    assert [task.task_id for task in requeued] == [task.task_id for task in expired]
    assert [task.greenfield for task in requeued] == [queued[0].greenfield - 3 + i for i in range(3)]
    assert all("desired_launch_time" not in task.attributes and task.attempts == 1 for task in requeued)
    assert meter.calls == {"Query": 2, "TransactWriteItems": 1}
    order = store.next_tasks(LAB, 10, start=markers_at(clock.now).start)
    assert [task.task_id for task in order] == [t.task_id for t in expired] + [t.task_id for t in queued]
    assert list(all_items(client, TABLES.retry)) == []


def test_requeue_takes_only_due_tasks_up_to_the_limit(store: TaskStore, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(4))
    run_and_claim(store, clock, 4)
    clock.advance(EXPIRY + 1)
    expired = store.expired_tasks(LAB, markers_at(clock.now))
    for delay, task in zip((0, 1, 2, 500), expired, strict=True):
        store.move_to_retry(task, delay=delay)
    clock.advance(2)

    first = store.requeue_due_retries(LAB, limit=2)
    second = store.requeue_due_retries(LAB, limit=2)
    third = store.requeue_due_retries(LAB, limit=2)

    assert [task.task_id for task in first + second] == [task.task_id for task in expired[:3]]
    assert third == []
    assert store.locate(expired[3].task_id, labourer_id=LAB).where == Where.RETRY
    assert store.requeue_due_retries(LAB, limit=0) == []


def test_requeue_skips_a_task_moved_by_someone_else_and_moves_the_rest(
    store: TaskStore, client: Any, clock: FakeClock
) -> None:
    store.create_tasks(LAB, payloads(3))
    run_and_claim(store, clock, 3)
    expired = expire_and_retry(store, clock, delay=0)
    # Someone else already put the middle task back into the tasks table (its retry row is stale).
    client.put_item(TableName=TABLES.tasks, Item=expired[1].to_item())

    requeued = store.requeue_due_retries(LAB)

    assert {task.task_id for task in requeued} == {expired[0].task_id, expired[2].task_id}
    assert store.locate(expired[1].task_id, labourer_id=LAB).where == Where.EXPIRED
    assert stored(client, TABLES.retry, labourer_id=LAB, task_id=expired[1].task_id) is not None


def test_requeue_of_more_than_50_tasks_uses_one_transaction_per_50(
    store: TaskStore, client: Any, clock: FakeClock
) -> None:
    store.create_tasks(LAB, payloads(60))
    run_and_claim(store, clock, 60)
    clock.advance(EXPIRY + 1)
    expired = store.expired_tasks(LAB, markers_at(clock.now))
    for number, task in enumerate(expired):
        store.move_to_retry(task, delay=number)
    clock.advance(60)
    meter = attach_meter(client)

    requeued = store.requeue_due_retries(LAB, limit=100)

    assert meter.calls["TransactWriteItems"] == 2
    sizes = [len(req["TransactItems"]) for name, req in meter.requests if name == "TransactWriteItems"]
    assert sizes == [100, 20]
    assert [task.task_id for task in requeued] == [task.task_id for task in expired]
    assert [task.greenfield for task in requeued] == sorted(task.greenfield for task in requeued)


def test_a_delayed_task_waits_until_its_time(store: TaskStore, client: Any, clock: FakeClock) -> None:
    store.create_tasks(LAB, payloads(1))
    delayed = store.create_delayed_task(LAB, {"report": "monthly"}, not_before=clock.now + 600)

    assert delayed.attempts == 0
    assert delayed.attributes["desired_launch_time"] == clock.now + 600
    assert [t.greenfield for t in store.next_tasks(LAB, 5, start=markers_at(clock.now).start)] == [2000]
    assert store.locate(delayed.task_id, labourer_id=LAB).where == Where.RETRY
    clock.advance(599)
    assert store.requeue_due_retries(LAB) == []
    clock.advance(1)

    (requeued,) = store.requeue_due_retries(LAB)

    fetched = store.next_tasks(LAB, 5, start=markers_at(clock.now).start)
    assert fetched[0].task_id == delayed.task_id
    assert requeued.greenfield == 1999
    assert requeued.attempts == 0
    assert requeued.payload == {"report": "monthly"}
    assert stored(client, TABLES.retry, labourer_id=LAB, task_id=delayed.task_id) is None


def test_a_delayed_task_id_is_not_reused(store: TaskStore, clock: FakeClock) -> None:
    store.create_delayed_task(LAB, {"v": 1}, not_before=clock.now + 60, task_id="fixed")

    with pytest.raises(TaskExistsError, match="fixed"):
        store.create_delayed_task(LAB, {"v": 2}, not_before=clock.now + 60, task_id="fixed")

    assert store.locate("fixed", labourer_id=LAB).task.payload == {"v": 1}  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------------------------------
# Locate, get_task, the Task value


def test_locate_follows_a_task_through_its_life(store: TaskStore, clock: FakeClock) -> None:
    (task,) = store.create_tasks(LAB, payloads(1))
    assert store.locate(task.task_id).where == Where.QUEUED
    run_and_claim(store, clock, 1)
    assert store.locate(task.task_id).where == Where.RUNNING
    clock.advance(EXPIRY + 1)
    location = store.locate(task.task_id)
    assert location.where == Where.EXPIRED
    assert location.task is not None
    assert store.locate(task.task_id, markers=markers_at(clock.now - EXPIRY)).where == Where.RUNNING
    store.mark_completed(task.task_id)
    assert store.locate(task.task_id).where == Where.COMPLETED
    (completed,) = store.completed_tasks(LAB)
    store.archive(completed)
    assert store.locate(task.task_id).where == "closed-completed"
    assert store.locate("nobody", labourer_id=LAB) == store.locate("nobody")
    assert store.locate("nobody").where == Where.UNKNOWN
    assert store.get_task("nobody") is None


def test_task_values_are_plain_python() -> None:
    item: dict[str, dict[str, Any]] = {
        "task_id": {"S": "t1"},
        "labourer_id": {"S": LAB},
        "created_at": {"N": "1700000000.25"},
        "greenfield": {"N": "2000"},
        "attempts": {"N": "0"},
        "payload": {"S": '{"a": 1}'},
        "stat_flags": {"SS": ["x", "y"]},
        "stat_ok": {"BOOL": True},
    }

    task = Task.from_item(item)

    assert task.attributes["created_at"] == 1700000000.25
    assert isinstance(task.attributes["greenfield"], int)
    assert task.attributes["stat_flags"] == {"x", "y"}
    assert task.payload == {"a": 1}
    assert task.to_item() == item


def test_a_python_repr_payload_is_reported_clearly() -> None:
    task = Task(task_id="t1", labourer_id=LAB, greenfield=1, attempts=0, created_at=0.0, payload_text="{'a': 1}")

    with pytest.raises(InvalidPayloadError, match="task t1: stored payload is not JSON"):
        _ = task.payload


# ---------------------------------------------------------------------------------------------------------------------
# Reads stay proportional to the work, even 10,000 tasks deep


def test_reads_are_proportional_to_use_at_a_depth_of_10000(store: TaskStore, client: Any, clock: FakeClock) -> None:
    for batch in range(10):
        store.create_tasks(LAB, payloads(1000, first=batch * 1000))
    meter = attach_meter(client)

    fetched = store.next_tasks(LAB, 20, start=markers_at(clock.now).start)

    assert [task.greenfield for task in fetched] == list(range(2000, 22000, 1000))
    assert meter.calls == {"Query": 1}
    assert meter.scanned["Query"] <= 20
    assert meter.returned["Query"] == 20

    meter.reset()
    single = store.create_task(LAB, payload(10_000))
    assert single.greenfield == 10_002_000
    assert meter.calls == {"Query": 1, "PutItem": 1}
    assert meter.scanned["Query"] <= 1

    meter.reset()
    batch_of_100 = store.create_tasks(LAB, payloads(100, first=10_001))
    assert batch_of_100[0].greenfield == 10_003_000
    assert meter.calls == {"Query": 1, "BatchWriteItem": 4}
    assert meter.scanned["Query"] <= 1

    run_and_claim(store, clock, 20)
    meter.reset()
    assert store.count_running(LAB, markers_at(clock.now)) == 20
    assert meter.scanned["Query"] == 20
