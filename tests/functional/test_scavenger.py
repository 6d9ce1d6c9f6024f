"""The Scavenger's per-labourer logic on moto tables, with the clock in the test's hands.

Archive, expire (retry with the configured delay, or dead with a reason and a notification), reported failures,
requeue in order, limits, lost races, the retry base, notifications in batches, and the DynamoDB calls it costs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from foreman_core import run
from foreman_core.config import Labourer, RetryBackoff, Tables, parse_config
from foreman_core.greenfield import RunMarkers
from foreman_core.item_size import item_bytes
from foreman_core.scavenger import (
    DEAD_TASK_DETAIL_TYPE,
    EVENT_SOURCE,
    AwsNotifier,
    DeadTask,
    LabourerReport,
    ScavengeLimits,
    Scavenger,
)
from foreman_core.scavenger_batches import find_work, scavenge_batch
from foreman_core.task_store import Task, TaskStore
from tests.builders import FakeClock, all_items, attach_meter, create_sosw_tables, payloads
from tests.conservation import (
    CLOSED_COMPLETED,
    CLOSED_DEAD,
    COMPLETED,
    QUEUED,
    RETRY_WAITING,
    RUNNING,
    assert_conserved,
)

LAB = "some_function"
ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{LAB}"
TABLES = Tables()
DURATION, COOLDOWN = 60, 30
LABOURER = Labourer(id=LAB, arn=ARN, max_attempts=3, max_duration=50, duration=DURATION, cooldown=COOLDOWN)


@dataclass
class RecordingNotifier:
    """Keeps every batch of dead tasks; answers ``problems``."""

    batches: list[tuple[str, list[DeadTask]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def dead_tasks(self, labourer_id: str, tasks: Sequence[DeadTask]) -> list[str]:
        self.batches.append((labourer_id, list(tasks)))
        return list(self.problems)


@pytest.fixture(scope="module")
def shared_client() -> Iterator[Any]:
    """sosw's tables on moto, once for the module; ``client`` empties them for each test."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_sosw_tables(dynamodb)
        yield dynamodb


@pytest.fixture
def client(shared_client: Any) -> Any:
    for table, keys in (
        (TABLES.tasks, ("task_id",)),
        (TABLES.closed, ("task_id",)),
        (TABLES.retry, ("labourer_id", "task_id")),
    ):
        for row in list(all_items(shared_client, table)):
            shared_client.delete_item(TableName=table, Key={key: row[key] for key in keys})
    return shared_client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(client: Any, clock: FakeClock) -> TaskStore:
    return TaskStore(client, TABLES, clock=clock)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


def markers(clock: FakeClock, labourer: Labourer = LABOURER) -> RunMarkers:
    return RunMarkers.at(clock.now, duration=labourer.duration, cooldown=labourer.cooldown)


def scavenge(
    store: TaskStore,
    clock: FakeClock,
    notifier: Any,
    labourer: Labourer = LABOURER,
    **kwargs: Any,
) -> LabourerReport:
    scavenger = Scavenger(store, notifier=notifier, **kwargs)
    return scavenger.scavenge(labourer, markers(clock, labourer), now=clock.now)


def invoke_all(store: TaskStore, clock: FakeClock, labourer: Labourer = LABOURER) -> list[Task]:
    """What the Orchestrator does for the queue: claim every queued task now."""
    run_markers = markers(clock, labourer)
    queued = store.next_tasks(labourer.id, 100, start=run_markers.start)
    for task in queued:
        assert store.claim(task.task_id, labourer.id, run_markers).claimed
    return queued


def retry_row(client: Any, task_id: str) -> dict[str, Any]:
    (row,) = [item for item in all_items(client, TABLES.retry) if item["task_id"]["S"] == task_id]
    return row


def test_completed_tasks_are_archived_and_running_ones_stay(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    tasks = store.create_tasks(LAB, payloads(3))
    invoke_all(store, clock)
    clock.advance(5)
    for task in tasks[:2]:
        assert store.mark_completed(task.task_id, stats={"rows": 7}).accepted

    report = scavenge(store, clock, notifier)

    assert (report.archived, report.retried, report.dead, report.requeued) == (2, 0, 0, 0)
    census = assert_conserved(
        client, [t.task_id for t in tasks], now=clock.now, expected={CLOSED_COMPLETED: 2, RUNNING: 1}
    )
    closed = census.items[tasks[0].task_id]
    assert closed["labourer_id_task_status"] == f"{LAB}_1"
    assert closed["closed_at"] == int(clock.now)
    assert closed["stat_rows"] == 7
    assert json.loads(closed["payload"]) == payloads(3)[0]  # JSON, not sosw's Python repr (bug 9)
    assert notifier.batches == []


def test_expired_tasks_wait_max_duration_times_attempts_then_return_to_the_queue(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    (task,) = store.create_tasks(LAB, payloads(1))
    invoke_all(store, clock)
    clock.advance(DURATION + COOLDOWN - 1)
    assert scavenge(store, clock, notifier).retried == 0  # still running
    clock.advance(1)

    first = scavenge(store, clock, notifier)

    assert (first.retried, first.failures_reported, first.requeued) == (1, 0, 0)
    assert first.retry_base is not None
    assert (first.retry_base.seconds, first.retry_base.source) == (50, "max_duration")
    assert int(retry_row(client, task.task_id)["desired_launch_time"]["N"]) == clock.now + 50 * 1
    clock.advance(49)
    assert scavenge(store, clock, notifier).requeued == 0
    clock.advance(1)
    assert scavenge(store, clock, notifier).requeued == 1
    assert_conserved(client, [task.task_id], now=clock.now, expected={QUEUED: 1})

    invoke_all(store, clock)  # attempt 2
    clock.advance(DURATION + COOLDOWN)
    second = scavenge(store, clock, notifier)

    assert second.retried == 1
    assert int(retry_row(client, task.task_id)["desired_launch_time"]["N"]) == clock.now + 50 * 2


def test_after_max_attempts_a_task_is_closed_dead_with_its_reason_and_notified_once_per_batch(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    labourer = replace(LABOURER, max_attempts=2, retry_delay_seconds=0)
    tasks = store.create_tasks(LAB, payloads(3))
    ids = [task.task_id for task in tasks]
    for _ in range(2):  # two invocations that both time out
        invoke_all(store, clock, labourer)
        clock.advance(DURATION + COOLDOWN)
        report = scavenge(store, clock, notifier, labourer)

    assert (report.dead, report.retried) == (3, 0)
    census = assert_conserved(client, ids, now=clock.now, expected={CLOSED_DEAD: 3})
    for task_id in ids:
        assert census.items[task_id]["labourer_id_task_status"] == f"{LAB}_0"
        assert census.items[task_id]["close_reason"] == "expired after 2 attempts"
    ((labourer_id, dead),) = notifier.batches
    assert labourer_id == LAB
    assert sorted(task.task_id for task in dead) == sorted(ids)
    assert {(task.attempts, task.reason, task.closed_at) for task in dead} == {
        (2, "expired after 2 attempts", int(clock.now))
    }
    assert sorted(report.to_dict()["dead_task_ids"]) == sorted(ids)


def test_a_reported_failure_is_retried_at_the_next_run_without_waiting_for_expiry(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    failing, running = store.create_tasks(LAB, payloads(2))
    invoke_all(store, clock)
    clock.advance(3)
    assert store.mark_failed(failing.task_id, result={"error": "boom"}).accepted
    clock.advance(1)

    report = scavenge(store, clock, notifier)

    assert (report.retried, report.failures_reported) == (1, 1)
    census = assert_conserved(
        client, [failing.task_id, running.task_id], now=clock.now, expected={RETRY_WAITING: 1, RUNNING: 1}
    )
    assert census.states[failing.task_id] == RETRY_WAITING
    assert census.items[failing.task_id]["failed_attempts"] == 1


def test_a_failure_reported_for_an_earlier_attempt_does_not_fail_the_next_one(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    labourer = replace(LABOURER, retry_delay_seconds=0)
    (task,) = store.create_tasks(LAB, payloads(1))
    invoke_all(store, clock, labourer)
    clock.advance(2)
    store.mark_failed(task.task_id)
    clock.advance(1)
    retried = scavenge(store, clock, notifier, labourer)
    assert (retried.retried, retried.requeued) == (1, 1)  # no delay: back in the queue in the same run
    clock.advance(1)
    invoke_all(store, clock, labourer)  # attempt 2 carries attempt 1's failed_at
    clock.advance(10)

    report = scavenge(store, clock, notifier, labourer)

    assert (report.retried, report.dead) == (0, 0)
    assert_conserved(client, [task.task_id], now=clock.now, expected={RUNNING: 1})


def test_a_failure_on_the_last_attempt_closes_the_task_as_failed(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    labourer = replace(LABOURER, max_attempts=1)
    (task,) = store.create_tasks(LAB, payloads(1))
    invoke_all(store, clock, labourer)
    store.mark_failed(task.task_id)

    report = scavenge(store, clock, notifier, labourer)

    assert (report.dead, report.failures_reported) == (1, 1)
    census = assert_conserved(client, [task.task_id], now=clock.now, expected={CLOSED_DEAD: 1})
    assert census.items[task.task_id]["close_reason"] == "failed after 1 attempt"
    assert notifier.batches[0][1][0].reason == "failed after 1 attempt"


@pytest.mark.parametrize(
    ("settings", "delays"),
    [
        ({}, [50, 100, 150]),  # sosw: max_duration x attempts
        ({"retry_delay_seconds": 10}, [10, 20, 30]),
        ({"retry_delay_seconds": 10, "retry_backoff": RetryBackoff.EXPONENTIAL}, [10, 20, 40]),
        (
            {"retry_delay_seconds": 10, "retry_backoff": RetryBackoff.EXPONENTIAL, "max_retry_delay_seconds": 25},
            [10, 20, 25],
        ),
        ({"max_duration": 7, "max_retry_delay_seconds": 15}, [7, 14, 15]),
    ],
)
def test_the_retry_delay_follows_the_labourers_backoff(  # noqa: PLR0917 - fixtures and parameters
    client: Any,
    store: TaskStore,
    clock: FakeClock,
    notifier: RecordingNotifier,
    settings: dict[str, Any],
    delays: list[int],
) -> None:
    labourer = replace(LABOURER, max_attempts=4, **settings)
    (task,) = store.create_tasks(LAB, payloads(1))
    seen = []
    for _ in delays:
        invoke_all(store, clock, labourer)
        clock.advance(DURATION + COOLDOWN)
        assert scavenge(store, clock, notifier, labourer).retried == 1
        due = int(retry_row(client, task.task_id)["desired_launch_time"]["N"])
        seen.append(due - int(clock.now))
        clock.now = float(due)
        assert scavenge(store, clock, notifier, labourer).requeued == 1

    assert seen == delays


def test_without_max_duration_the_base_is_the_functions_timeout_read_once_per_run(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    labourer = replace(LABOURER, max_duration=None)
    calls: list[str] = []

    def get_function_configuration(**kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs["FunctionName"])
        return {"Timeout": 120}

    store.create_tasks(LAB, payloads(3))
    invoke_all(store, clock, labourer)
    clock.advance(DURATION + COOLDOWN)

    report = scavenge(
        store,
        clock,
        notifier,
        labourer,
        lambda_client=SimpleNamespace(get_function_configuration=get_function_configuration),
    )

    assert report.retried == 3
    assert calls == [ARN]
    assert report.to_dict()["retry_base"] == {"seconds": 120, "source": "function timeout"}
    assert {int(row["desired_launch_time"]["N"]) for row in all_items(client, TABLES.retry)} == {int(clock.now) + 120}


def test_when_the_timeout_cannot_be_read_the_base_is_duration_and_the_report_says_why(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    labourer = replace(LABOURER, max_duration=None)

    def denied(**kwargs: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetFunctionConfiguration")

    (task,) = store.create_tasks(LAB, payloads(1))
    invoke_all(store, clock, labourer)
    clock.advance(DURATION + COOLDOWN)

    report = scavenge(
        store, clock, notifier, labourer, lambda_client=SimpleNamespace(get_function_configuration=denied)
    )

    assert report.retried == 1
    assert report.retry_base is not None
    assert report.retry_base.seconds == DURATION
    assert report.retry_base.source.startswith("duration (GetFunctionConfiguration failed:")
    assert "AccessDenied" in report.retry_base.source
    assert int(retry_row(client, task.task_id)["desired_launch_time"]["N"]) == int(clock.now) + DURATION


def test_no_timeout_lookup_when_nothing_is_retried(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    def must_not_be_called(**kwargs: Any) -> dict[str, Any]:
        raise AssertionError("GetFunctionConfiguration called with nothing to retry")

    store.create_tasks(LAB, payloads(2))
    report = scavenge(
        store,
        clock,
        notifier,
        replace(LABOURER, max_duration=None),
        lambda_client=SimpleNamespace(get_function_configuration=must_not_be_called),
    )

    assert report.retry_base is None


def test_due_retries_go_ahead_of_the_queue_in_their_original_order(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    labourer = replace(LABOURER, retry_delay_seconds=100)
    first, second, third = store.create_tasks(LAB, payloads(3))
    run_markers = markers(clock, labourer)
    for task in (first, second, third):  # invoked two seconds apart, so each expires at its own run
        assert store.claim(task.task_id, LAB, run_markers).claimed
        clock.advance(2)
        run_markers = markers(clock, labourer)
    clock.advance(DURATION + COOLDOWN - 8)
    for _ in range(3):
        clock.advance(2)
        assert scavenge(store, clock, notifier, labourer).retried == 1
    queued = store.create_tasks(LAB, payloads(2, first=10))
    clock.advance(200)

    report = scavenge(store, clock, notifier, labourer)

    assert report.requeued == 3
    order = [task.task_id for task in store.next_tasks(LAB, 10, start=int(clock.now))]
    assert order == [first.task_id, second.task_id, third.task_id, *(task.task_id for task in queued)]


def test_each_phase_is_bounded_per_run_and_the_report_says_more_is_waiting(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    tasks = store.create_tasks(LAB, payloads(5))
    invoke_all(store, clock)
    for task in tasks:
        store.mark_completed(task.task_id)
    limits = ScavengeLimits(archive=3, expire=3, requeue=3)

    first = scavenge(store, clock, notifier, limits=limits)
    second = scavenge(store, clock, notifier, limits=limits)

    assert (first.archived, first.more) == (3, True)
    assert (second.archived, second.more) == (2, False)
    assert_conserved(client, [t.task_id for t in tasks], now=clock.now, expected={CLOSED_COMPLETED: 5})


class CompletingMeanwhile(TaskStore):
    """A store where a completion lands between the Scavenger's read and its move, for one task."""

    racing: str = ""

    def move_to_retry(self, task: Task, *, delay: float) -> bool:
        if task.task_id == self.racing:
            assert self.mark_completed(task.task_id).accepted
        return super().move_to_retry(task, delay=delay)


def test_a_completion_that_lands_between_read_and_move_wins_over_the_retry(
    client: Any, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    store = CompletingMeanwhile(client, TABLES, clock=clock)
    late, expired = store.create_tasks(LAB, payloads(2))
    invoke_all(store, clock)
    clock.advance(DURATION + COOLDOWN)
    store.racing = late.task_id

    report = scavenge(store, clock, notifier)

    assert (report.retried, report.lost_races) == (1, 1)
    ids = [late.task_id, expired.task_id]
    census = assert_conserved(client, ids, now=clock.now, expected={COMPLETED: 1, RETRY_WAITING: 1})
    assert census.states[late.task_id] == COMPLETED
    assert scavenge(store, clock, notifier).archived == 1


def test_a_notification_failure_is_reported_and_the_tasks_stay_closed(
    client: Any, store: TaskStore, clock: FakeClock
) -> None:
    notifier = RecordingNotifier(problems=["sns: AuthorizationError"])
    labourer = replace(LABOURER, max_attempts=1)
    (task,) = store.create_tasks(LAB, payloads(1))
    invoke_all(store, clock, labourer)
    clock.advance(DURATION + COOLDOWN)

    report = scavenge(store, clock, notifier, labourer)

    assert report.dead == 1
    assert report.notification_errors == ["sns: AuthorizationError"]
    assert_conserved(client, [task.task_id], now=clock.now, expected={CLOSED_DEAD: 1})


@dataclass
class FakeSns:
    calls: list[dict[str, Any]] = field(default_factory=list)
    error: Exception | None = None

    def publish(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {"MessageId": "1"}


@dataclass
class FakeEvents:
    calls: list[list[dict[str, Any]]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    def put_events(self, **kwargs: Any) -> dict[str, Any]:
        entries: list[dict[str, Any]] = kwargs["Entries"]
        self.calls.append(entries)
        answers = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}
            if json.loads(entry["Detail"])["task_id"] in self.failing
            else {"EventId": "e"}
            for entry in entries
        ]
        return {"FailedEntryCount": sum("ErrorCode" in a for a in answers), "Entries": answers}


def dead(count: int) -> list[DeadTask]:
    return [DeadTask(f"t{i:02d}", LAB, 3, "expired after 3 attempts", 1_700_000_000) for i in range(count)]


def test_dead_tasks_are_one_sns_message_and_put_events_of_ten() -> None:
    sns, events = FakeSns(), FakeEvents()
    notifier = AwsNotifier(sns=sns, events=events, topic_arn="arn:aws:sns:us-east-1:123456789012:dead")

    problems = notifier.dead_tasks(LAB, dead(23))

    assert problems == []
    (publish,) = sns.calls
    assert publish["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:dead"
    assert len(publish["Subject"]) <= 100
    message = json.loads(publish["Message"])
    assert [task["task_id"] for task in message["dead_tasks"]] == [f"t{i:02d}" for i in range(23)]
    assert [len(batch) for batch in events.calls] == [10, 10, 3]
    entry = events.calls[0][0]
    assert entry["Source"] == EVENT_SOURCE
    assert entry["DetailType"] == DEAD_TASK_DETAIL_TYPE == "Task dead"
    assert entry["EventBusName"] == "default"
    assert json.loads(entry["Detail"]) == {
        "task_id": "t00",
        "labourer_id": LAB,
        "attempts": 3,
        "reason": "expired after 3 attempts",
        "closed_at": 1_700_000_000,
    }


def test_failed_deliveries_are_reported_never_raised() -> None:
    sns = FakeSns(error=ClientError({"Error": {"Code": "AuthorizationError", "Message": "no"}}, "Publish"))
    events = FakeEvents(failing={"t04"})
    notifier = AwsNotifier(sns=sns, events=events, topic_arn="arn:aws:sns:us-east-1:123456789012:dead")

    problems = notifier.dead_tasks(LAB, dead(5))

    assert len(problems) == 2
    assert problems[0].startswith("sns: ")
    assert "AuthorizationError" in problems[0]
    assert problems[1] == "events: t04: InternalFailure: try again"


def test_scavenging_costs_one_transaction_per_moved_task_plus_a_few_queries(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    labourer = replace(LABOURER, retry_delay_seconds=0)
    tasks = store.create_tasks(LAB, payloads(30))
    invoke_all(store, clock, labourer)
    for task in tasks[:10]:
        store.mark_completed(task.task_id)
    clock.advance(DURATION + COOLDOWN)
    metered = boto3.client("dynamodb", region_name="us-east-1")  # its own client: the meter stays with this test
    meter = attach_meter(metered)

    report = scavenge(TaskStore(metered, TABLES, clock=clock), clock, notifier, labourer)

    assert (report.archived, report.retried, report.requeued) == (10, 20, 20)  # no delay: requeued in the same run
    calls = dict(meter.calls)
    assert calls == {"Query": 6, "TransactWriteItems": 10 + 20 + 1}
    # queries: completed, expired, failed-while-running, above any claim, due retries, queue head; one transaction
    # per archive or retry, and one for the whole requeued batch (up to 50)
    print(f"\n30 tasks scavenged (10 archived, 20 retried and requeued): {sum(calls.values())} DynamoDB calls {calls}")


def test_the_scavenger_steps_read_loadconfigs_state(client: Any, clock: FakeClock) -> None:
    config = parse_config(
        {
            "task_config": {
                "labourers": {
                    LAB: {"arn": ARN, "duration": DURATION, "cooldown": COOLDOWN, "max_duration": 40, "max_attempts": 2}
                }
            }
        }
    )
    state = run.load_config(config, now=clock.now, execution="local", deployment=TABLES)
    store = TaskStore(client, TABLES, clock=clock)
    (task,) = store.create_tasks(LAB, payloads(1))
    invoke_all(store, clock)
    clock.advance(DURATION + COOLDOWN)
    later = run.load_config(config, now=clock.now, execution="local", deployment=TABLES)
    notifier = RecordingNotifier()

    found = find_work(later, config, store=store)
    (batch,) = found["batches"]
    output = scavenge_batch(
        {"labourers": batch, "batch": 0, "run": found["run"], "config": found["config"]},
        config,
        client=client,
        notifier=notifier,
    )

    assert state["labourers"] == [LAB]
    assert later["config"]["sha256"] == config.fingerprint()  # the state carries the config's reference, not it
    assert (found["labourers"], found["with_work"], batch) == (1, 1, [0])  # positions in the config, not ids
    assert output == {
        "labourers": [{"labourer_id": LAB, "retried": 1, "retry_base": {"seconds": 40, "source": "max_duration"}}],
        "totals": {"batch": 0, "scavenged": 1, "retried": 1},
    }
    assert int(retry_row(client, task.task_id)["desired_launch_time"]["N"]) == int(clock.now) + 40
    json.dumps(output)  # the step's output is JSON


def test_a_mass_failure_reports_a_few_errors_and_counts_the_rest(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    from tests.faults import dynamodb_fault

    tasks = store.create_tasks(LAB, payloads(40))
    invoke_all(store, clock)
    for task in tasks[:20]:
        store.mark_completed(task.task_id)
    clock.advance(DURATION + COOLDOWN)

    with dynamodb_fault("transact_write_items", "AccessDeniedException") as fault:
        report = scavenge(store, clock, notifier).to_dict()

    assert fault.raised == 40  # every archive and every retry was refused
    assert 0 < len(report["errors"]) <= 10
    assert len(report["errors"]) + report.get("errors_omitted", 0) == 40
    assert all("AccessDenied" in error and len(error) <= 300 for error in report["errors"])
    # What travels through the Scavenger's Map per labourer stays small whatever the number of failed tasks.
    assert len(json.dumps(report)) < 3000
    assert_conserved(client, [t.task_id for t in tasks], now=clock.now, expected={COMPLETED: 20, RUNNING: 20})


def test_due_retries_of_large_tasks_are_all_requeued_with_dynamodbs_transaction_limit_enforced(
    client: Any, store: TaskStore, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    from foreman.local.patches.transaction_size_limit import transaction_size_limit

    big = "x" * 100_000  # 50 tasks of ~100 KB: 5 MB of puts (and as much of deletes) if moved in one transaction
    due = [store.create_delayed_task(LAB, {"blob": big, "n": n}, not_before=clock.now) for n in range(50)]
    meter = attach_meter(client)

    requeued = []
    with transaction_size_limit():
        for _ in range(10):
            report = scavenge(store, clock, notifier, limits=ScavengeLimits(requeue=50))
            assert report.errors == []
            requeued.append(report.requeued)
            if sum(requeued) == 50:
                break

    # DynamoDB reads at most 1 MB per Query page, so one run requeues what fits in a page (9 of these), and the
    # next run the next page; each transaction stays under 4 MB.
    assert sum(requeued) == 50
    assert max(requeued) < 50
    sizes = [
        sum(item_bytes(action.get("Put", {}).get("Item", {})) for action in params["TransactItems"])
        for name, params in meter.requests
        if name == "TransactWriteItems"
    ]
    assert sizes
    assert max(sizes) <= 2 * 1024 * 1024
    queued = [task.task_id for task in store.next_tasks(LAB, 50, start=int(clock.now) + 1)]
    assert sorted(queued) == sorted(task.task_id for task in due)
