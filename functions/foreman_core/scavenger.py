"""The Scavenger: per labourer, close the loop on invoked tasks. The Scavenger state machine
(``statemachine/scavenger.asl.json``) finds the labourers with something to do and scavenges them in batches, one
Lambda call a batch (``foreman_core.scavenger_batches``); ``Scavenger.scavenge`` is one labourer's part.

In order, each bounded per run so one execution stays short (``ScavengeLimits``):

1. **archive** completed tasks to the closed table (``<labourer>_1``);
2. **expire** tasks that are expired (invoked more than ``duration + cooldown`` ago, not completed) or that reported a
   failure for their current invocation (``failed_at`` at or after it): move each to the retry table, due after the
   retry delay, or, once it has had ``max_attempts`` invocations, close it as dead (``<labourer>_0`` with a
   ``close_reason`` such as "expired after 3 attempts" / "failed after 3 attempts") and notify (one SNS message and
   EventBridge events, per run and labourer);
3. **requeue** retries that are due (``desired_launch_time <= now``, delayed tasks too) at the head of the queue, in
   their original order.

Every move is one DynamoDB transaction, conditional on the task being as read, so a task is always in exactly one
table, and a completion that lands meanwhile wins over a retry. A move lost to someone else (sosw's Scavenger, a
second execution, a late completion) is counted in ``lost_races``, not an error.

Retry delay (``retry_delay``): sosw's ``max_duration * attempts`` by default; see ``Labourer`` for the keys. When
neither ``retry_delay_seconds`` nor ``max_duration`` is set, the base is the labourer function's Timeout, read with
one GetFunctionConfiguration per labourer per run, only if a task is retried; if that call fails the base is
``duration`` and the report says so.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from foreman_core.config import Labourer, RetryBackoff
from foreman_core.greenfield import CLAIM_MARKER_SLACK, RunMarkers
from foreman_core.item_size import ITEM_BYTES, item_bytes
from foreman_core.lease import FinishedRuns
from foreman_core.run_clock import is_run_id
from foreman_core.task_store import Task, TaskStore

EVENT_SOURCE = "foreman"
"""EventBridge ``source`` of Foreman's events."""

DEAD_TASK_DETAIL_TYPE = "Task dead"
"""EventBridge ``detail-type`` of a dead-task event; ``detail`` = ``DeadTask.detail()``."""

EVENTS_PER_PUT = 10
"""PutEvents takes at most 10 entries per call."""

SNS_SUBJECT_CHARS = 100
"""An SNS subject holds at most 100 characters."""

REPORTED_DEAD_IDS = 20
"""The report lists at most this many dead task ids per labourer (the notification has them all): the execution's
output, one report per labourer, must stay far below Step Functions' 256 KiB."""

REPORTED_ERRORS = 5
"""The report carries at most this many of a labourer's errors (and of its notification errors), each cut to
``REPORTED_ERROR_CHARS``, and counts the rest (``errors_omitted``): during a mass failure (say AccessDenied on every
transaction) every task of every phase fails, and the reports of all labourers travel together through the
Scavenger's Map. The first ones name the cause; the others are almost always the same one."""

REPORTED_ERROR_CHARS = 300


@dataclass(frozen=True)
class ScavengeLimits:
    """The most tasks one run handles per labourer in each phase. A phase that reaches its limit sets ``more`` in the
    report; the rest waits for the next run (a minute later with the default schedule)."""

    archive: int = 200
    expire: int = 100
    requeue: int = 100


@dataclass(frozen=True)
class DeadTask:
    """A task closed as dead, as notified."""

    task_id: str
    labourer_id: str
    attempts: int
    reason: str
    closed_at: int

    def detail(self) -> dict[str, Any]:
        """The EventBridge event's ``detail`` (and one entry of the SNS message's ``dead_tasks``)."""
        return {
            "task_id": self.task_id,
            "labourer_id": self.labourer_id,
            "attempts": self.attempts,
            "reason": self.reason,
            "closed_at": self.closed_at,
        }


class Notifier(Protocol):
    """Tells people about dead tasks. Returns the problems (empty: all delivered); never raises."""

    def dead_tasks(self, labourer_id: str, tasks: Sequence[DeadTask]) -> list[str]: ...


@dataclass
class AwsNotifier:
    """One SNS Publish to ``topic_arn`` (if set) and ``ceil(n / 10)`` EventBridge PutEvents on ``event_bus`` per batch
    of dead tasks. A failed delivery is reported, never raised: the tasks are closed either way."""

    sns: Any
    events: Any
    topic_arn: str | None
    event_bus: str = "default"

    def dead_tasks(self, labourer_id: str, tasks: Sequence[DeadTask]) -> list[str]:
        if not tasks:
            return []
        problems: list[str] = []
        if self.topic_arn:
            subject = f"Foreman: {len(tasks)} dead task(s) of {labourer_id}"
            message = {
                "labourer_id": labourer_id,
                "dead_tasks": [task.detail() for task in tasks],
            }
            try:
                self.sns.publish(
                    TopicArn=self.topic_arn,
                    Subject=_sns_subject(subject),
                    Message=json.dumps(message, indent=1),
                )
            except (ClientError, BotoCoreError) as error:
                problems.append(f"sns: {error}")
        for offset in range(0, len(tasks), EVENTS_PER_PUT):
            chunk = tasks[offset : offset + EVENTS_PER_PUT]
            entries = [
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": DEAD_TASK_DETAIL_TYPE,
                    "Detail": json.dumps(task.detail()),
                    "EventBusName": self.event_bus,
                    "Resources": [],
                }
                for task in chunk
            ]
            try:
                response = self.events.put_events(Entries=entries)
            except (ClientError, BotoCoreError) as error:
                problems.append(f"events: {len(chunk)} event(s) not put: {error}")
                continue
            for task, entry in zip(chunk, response.get("Entries", []), strict=False):
                if entry.get("ErrorCode"):
                    problems.append(f"events: {task.task_id}: {entry['ErrorCode']}: {entry.get('ErrorMessage', '')}")
        return problems


def _sns_subject(text: str) -> str:
    ascii_text = text.encode("ascii", "replace").decode()
    return ascii_text if len(ascii_text) <= SNS_SUBJECT_CHARS else ascii_text[: SNS_SUBJECT_CHARS - 3] + "..."


@dataclass(frozen=True)
class RetryBase:
    """The retry delay's base for one labourer in one run, and where it came from."""

    seconds: int
    source: str
    """``retry_delay_seconds``, ``max_duration``, ``function timeout`` or ``duration (<why no timeout>)``."""


def retry_delay(labourer: Labourer, attempts: int, base: int) -> int:
    """Seconds to wait before a task that has had ``attempts`` invocations is queued again.

    ``base * attempts`` (linear, sosw's) or ``base * 2 ** (attempts - 1)`` (exponential), at most
    ``max_retry_delay_seconds`` when set.
    """
    count = max(attempts, 1)
    delay = base * count if labourer.retry_backoff is RetryBackoff.LINEAR else base * 2 ** (count - 1)
    if labourer.max_retry_delay_seconds is not None:
        delay = min(delay, labourer.max_retry_delay_seconds)
    return int(delay)


@dataclass
class LabourerReport:
    """What one run did for one labourer (the Scavenger execution's output has one per labourer)."""

    labourer_id: str
    archived: int = 0
    retried: int = 0
    dead: int = 0
    requeued: int = 0
    returned_unsent: int = 0
    """Expired tasks claimed by a run that did not finish: put back in the queue without spending the attempt."""
    failures_reported: int = 0
    """Of the tasks retried or dead, those that had reported a failure (the rest had expired)."""
    lost_races: int = 0
    more: bool = False
    """A phase reached its limit: more work waits for the next run."""
    retry_base: RetryBase | None = None
    errors: list[str] = field(default_factory=list)
    notification_errors: list[str] = field(default_factory=list)
    dead_tasks: list[DeadTask] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: a labourer's line in the ``ScavengeLabourers`` step's output (``scavenger_batches``)."""
        return {
            "labourer_id": self.labourer_id,
            "archived": self.archived,
            "retried": self.retried,
            "dead": self.dead,
            "requeued": self.requeued,
            "returned_unsent": self.returned_unsent,
            "failures_reported": self.failures_reported,
            "lost_races": self.lost_races,
            "more": self.more,
            "retry_base": None
            if self.retry_base is None
            else {"seconds": self.retry_base.seconds, "source": self.retry_base.source},
            "dead_task_ids": [task.task_id for task in self.dead_tasks[:REPORTED_DEAD_IDS]],
            "errors": _reported(self.errors),
            "errors_omitted": max(len(self.errors) - REPORTED_ERRORS, 0),
            "notification_errors": _reported(self.notification_errors),
            "notification_errors_omitted": max(len(self.notification_errors) - REPORTED_ERRORS, 0),
        }


def _reported(errors: Sequence[str]) -> list[str]:
    return [
        error if len(error) <= REPORTED_ERROR_CHARS else error[: REPORTED_ERROR_CHARS - 3] + "..."
        for error in errors[:REPORTED_ERRORS]
    ]


class Scavenger:
    """Scavenges one labourer at a time over ``store`` (whose clock is the run's "now").

    ``lambda_client`` is needed only when a labourer's retry base is its function's Timeout. The store's ``delta``
    (``greenfield_invocation_delta``) says when a task was invoked: ``greenfield - delta``.
    """

    def __init__(
        self,
        store: TaskStore,
        *,
        notifier: Notifier,
        lambda_client: Any = None,
        limits: ScavengeLimits | None = None,
        finished: FinishedRuns | None = None,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.lambda_client = lambda_client
        self.limits = limits or ScavengeLimits()
        self.finished = finished

    def scavenge(self, labourer: Labourer, markers: RunMarkers, *, now: float) -> LabourerReport:
        """Archive, expire (retry or dead) and requeue for ``labourer`` at ``now`` (``markers`` are the run's for this
        labourer). An error on one task is reported and the others go on; an error reading a phase's tasks is
        reported and the next phase goes on."""
        report = LabourerReport(labourer_id=labourer.id)
        self._archive(labourer, now, report)
        self._expire(labourer, markers, report)
        self._requeue(labourer, now, report)
        return report

    # -- phases ---------------------------------------------------------------------------------------------------

    def _archive(self, labourer: Labourer, now: float, report: LabourerReport) -> None:
        try:
            completed = self.store.completed_tasks(labourer.id, now=now, limit=self.limits.archive)
        except (ClientError, BotoCoreError) as error:
            report.errors.append(f"archive: reading completed tasks: {error}")
            return
        report.more |= len(completed) >= self.limits.archive
        for task in completed:
            self._count(report, "archived", task, functools.partial(self.store.archive, task))

    def _expire(self, labourer: Labourer, markers: RunMarkers, report: LabourerReport) -> None:
        try:
            tasks = self.store.expired_tasks(labourer.id, markers, limit=self.limits.expire)
            room = self.limits.expire - len(tasks)
            if room > 0:
                tasks += self.store.failed_tasks(labourer.id, markers, limit=room)
            tasks += self._far_future(labourer, markers, tasks)
        except (ClientError, BotoCoreError) as error:
            report.errors.append(f"expire: reading expired tasks: {error}")
            return
        report.more |= len(tasks) >= self.limits.expire
        dead: list[DeadTask] = []
        for task in tasks:
            self._expire_one(task, labourer, markers, report, dead)
        report.dead_tasks = dead
        if dead:
            report.notification_errors = self.notifier.dead_tasks(labourer.id, dead)

    def _expire_one(
        self, task: Task, labourer: Labourer, markers: RunMarkers, report: LabourerReport, dead: list[DeadTask]
    ) -> None:
        """The fate of one expired or failed task, decided in one place (``close_reason``): closed as dead, moved to
        the retry table (an attempt spent), or, claimed by a run that did not finish (``never_sent``), put back in its
        queue without spending the attempt."""
        failed = not task.malformed and self.store.failed_this_attempt(task)
        reason = close_reason(task, labourer, failed=failed, markers=markers)
        set_aside = reason is not None and reason.startswith("set aside")
        if not failed and not set_aside and self.never_sent(task):
            self._count(report, "returned_unsent", task, functools.partial(self.store.return_unsent, task))
            return
        if reason is not None:
            if self._count(report, "dead", task, functools.partial(self.store.archive, task, dead_reason=reason)):
                report.failures_reported += failed
                dead.append(DeadTask(task.task_id, task.labourer_id, task.attempts, reason, int(markers.start)))
            return
        delay = retry_delay(labourer, task.attempts, self._retry_base(labourer, report).seconds)
        if self._count(report, "retried", task, functools.partial(self.store.move_to_retry, task, delay=delay)):
            report.failures_reported += failed

    def _requeue(self, labourer: Labourer, now: float, report: LabourerReport) -> None:
        try:
            moved = self.store.requeue_due_retries(labourer.id, now=now, limit=self.limits.requeue)
        except (ClientError, BotoCoreError) as error:
            report.errors.append(f"requeue: {error}")
            return
        report.requeued = len(moved)
        report.more |= len(moved) >= self.limits.requeue

    # -- helpers --------------------------------------------------------------------------------------------------

    def never_sent(self, task: Task) -> bool:
        """Whether ``task`` (expired, no failure reported) may never have been sent: its claim mark is a run's id and
        that run is not recorded as finished (it stopped, timed out, failed or was redriven before its Summarize).
        Such a task has not used its attempt. Without ``finished`` (not known) nothing is taken as unsent."""
        if self.finished is None or task.malformed or task.is_completed:
            return False
        mark = task.attributes.get("foreman_claim")
        return is_run_id(mark) and not self.finished.sent(str(mark), task.labourer_id)

    def _far_future(self, labourer: Labourer, markers: RunMarkers, found: list[Task]) -> list[Task]:
        """The tasks above any claim marker (``TaskStore.far_future_tasks``) that ``found`` does not hold yet, within
        what is left of the expire limit: they are closed as dead with their reason (``close_reason``)."""
        room = self.limits.expire - len(found)
        if room <= 0:
            return []
        seen = {task.task_id for task in found}
        return [
            task for task in self.store.far_future_tasks(labourer.id, markers, limit=room) if task.task_id not in seen
        ]

    def _count(self, report: LabourerReport, counter: str, task: Task, move: Callable[[], bool]) -> bool:
        try:
            moved = move()
        except (ClientError, BotoCoreError) as error:
            report.errors.append(f"{task.task_id}: {counter}: {error}")
            return False
        if moved:
            setattr(report, counter, getattr(report, counter) + 1)
        else:
            report.lost_races += 1
        return moved

    def _retry_base(self, labourer: Labourer, report: LabourerReport) -> RetryBase:
        if report.retry_base is None:
            report.retry_base = self.resolve_retry_base(labourer)
        return report.retry_base

    def resolve_retry_base(self, labourer: Labourer) -> RetryBase:
        """The labourer's retry base: ``retry_delay_seconds``, else ``max_duration``, else its function's Timeout
        (one GetFunctionConfiguration), else, if that call fails, ``duration``."""
        if labourer.retry_delay_seconds is not None:
            return RetryBase(labourer.retry_delay_seconds, "retry_delay_seconds")
        if labourer.max_duration is not None:
            return RetryBase(labourer.max_duration, "max_duration")
        if self.lambda_client is None:
            return RetryBase(labourer.duration, "duration (no Lambda client to read the function's Timeout)")
        try:
            timeout = self.lambda_client.get_function_configuration(FunctionName=labourer.arn)["Timeout"]
        except (ClientError, BotoCoreError, KeyError) as error:
            return RetryBase(labourer.duration, f"duration (GetFunctionConfiguration failed: {error})")
        return RetryBase(int(timeout), "function timeout")


def close_reason(task: Task, labourer: Labourer, *, failed: bool, markers: RunMarkers | None = None) -> str | None:
    """Why an expired or failed task is closed as dead instead of retried, or ``None`` to retry it: a task rewritten
    with wrong types after its claim (kept as it is, the reason naming them), one whose greenfield is above any claim
    marker of the run of ``markers`` (written by hand: neither queued nor running), or one out of attempts."""
    if task.malformed:
        return "set aside by the Scavenger: " + "; ".join(task.malformed.values())
    if markers is not None and task.stored_greenfield > markers.claim_ceiling:
        return (
            f"set aside by the Scavenger: greenfield {task.stored_greenfield} is above the highest a claim can write "
            f"({markers.claim_ceiling}: the run's start + greenfield_invocation_delta + {CLAIM_MARKER_SLACK} s), "
            "so the task is neither queued nor running; to queue it, write a greenfield below the current unix time"
        )
    if task.attempts >= labourer.max_attempts:
        return dead_reason(failed=failed, attempts=task.attempts)
    retried = item_bytes(task.to_item()) + RETRY_ATTRIBUTE_BYTES
    if retried > ITEM_BYTES:
        return (
            f"set aside by the Scavenger: too large to retry ({retried:,} bytes with desired_launch_time, above "
            f"DynamoDB's item limit of {ITEM_BYTES:,})"
        )
    return None


RETRY_ATTRIBUTE_BYTES = len("desired_launch_time") + 12
"""What a retry adds to a task's item: ``desired_launch_time``, a unix time (counted a byte a digit, plus one)."""


def dead_reason(*, failed: bool, attempts: int) -> str:
    """The ``close_reason`` of a dead task: "expired after 3 attempts" or "failed after 3 attempts"."""
    return f"{'failed' if failed else 'expired'} after {attempts} attempt{'' if attempts == 1 else 's'}"
