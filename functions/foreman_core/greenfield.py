"""Greenfield: the one number that says where a task is in its life.

sosw encodes a task's state in ``greenfield`` (the range key of the ``sosw_tasks_greenfield`` index), and Foreman
reads and writes it the same way so that tasks written by either look the same to both:

- queued: a small queue position (``newest + greenfield_task_step``, the first one ``2 * step`` = 2000), far below any
  unix time; retried tasks go just below the head of the queue;
- invoked: ``invoked = start + greenfield_invocation_delta`` (a year ahead), set by the claim;
- running: ``expired <= greenfield <= invoked`` and no ``completed_at``;
- expired: ``start <= greenfield <= expired`` and no ``completed_at``;
- completed: ``completed_at`` is set (greenfield keeps its invoked value).

Both window bounds are inclusive, exactly as sosw's ``BETWEEN`` queries.

Nothing above ``invoked`` is written by a claim of a run that started before ours, and a run that started after ours
(or sosw's Orchestrator, which writes the clock of the claim itself, not of its run's start) writes at most a little
more: ``claim_ceiling`` (``invoked + CLAIM_MARKER_SLACK``) is the highest greenfield any claim can have written by
now. A task above it was written by hand (or by a clock far ahead): it is not running, and the Scavenger sets it
aside with its reason instead of letting it count against its labourer's cap for ever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

GREENFIELD_INVOCATION_DELTA = 31557600
"""sosw's default: 365.25 days. An invoked task's greenfield is its invocation time plus this."""

GREENFIELD_TASK_STEP = 1000
"""sosw's default distance between two queue positions."""

CLAIM_MARKER_SLACK = 3600
"""How far above this run's ``invoked`` another claim's greenfield may still be: a run that started after ours (at
most the lease's 360 s while ours still counts), sosw's claims (the claim's own clock, up to its 15-minute Lambda
timeout after its run started), and clocks a little apart. An hour, ten times what those need; a task above it
counts as running for at most this long before the Scavenger sets it aside."""


class TaskState(str, Enum):
    """Where a task stands, as read from its greenfield and ``completed_at``."""

    QUEUED = "queued"
    RUNNING = "running"
    EXPIRED = "expired"
    COMPLETED = "completed"


@dataclass(frozen=True)
class RunMarkers:
    """The three greenfield markers of one run for one labourer (all unix seconds, ints).

    ``start`` is the run's clock; a task is available when ``greenfield < start``. ``invoked`` is what a claim
    writes. Tasks between ``expired`` and ``invoked`` are running; between ``start`` and ``expired``, expired.
    """

    start: int
    invoked: int
    expired: int

    @classmethod
    def at(cls, start: float, *, duration: int, cooldown: int, delta: int = GREENFIELD_INVOCATION_DELTA) -> RunMarkers:
        """Markers for a run that starts at ``start``: ``invoked = start + delta``,
        ``expired = invoked - (duration + cooldown)``."""
        begin = int(start)
        invoked = begin + delta
        return cls(start=begin, invoked=invoked, expired=invoked - (duration + cooldown))

    @property
    def claim_ceiling(self) -> int:
        """The highest greenfield a claim can have written by this run's start (``invoked + CLAIM_MARKER_SLACK``):
        tasks above it are not running, whatever their greenfield says."""
        return self.invoked + CLAIM_MARKER_SLACK

    def to_dict(self) -> dict[str, int]:
        """The markers as they travel in a state machine's state."""
        return {"start": self.start, "invoked": self.invoked, "expired": self.expired}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunMarkers:
        """Markers back from ``to_dict``'s form (extra keys, such as the ``*_n`` strings for DynamoDB, ignored)."""
        return cls(start=int(data["start"]), invoked=int(data["invoked"]), expired=int(data["expired"]))


def classify(greenfield: float, *, completed: bool, markers: RunMarkers) -> TaskState:
    """The state of a task that is still in the tasks table, as sosw's queries would see it.

    A task exactly on ``expired`` matches both sosw's running and expired queries; it is reported as running here
    (it is given the benefit of the doubt until the next second).
    """
    if completed:
        return TaskState.COMPLETED
    if greenfield < markers.start:
        return TaskState.QUEUED
    if greenfield >= markers.expired:
        return TaskState.RUNNING
    return TaskState.EXPIRED


def queue_positions(newest: int | None, count: int, *, step: int = GREENFIELD_TASK_STEP) -> list[int]:
    """The next ``count`` queue positions after ``newest`` (the newest queued greenfield, ``None`` for an empty
    queue, which sosw treats as ``step``): ``newest + step``, ``newest + 2 * step``, ..."""
    base = step if newest is None else int(newest)
    return [base + step * (i + 1) for i in range(count)]


def retry_positions(oldest: int | None, count: int, *, step: int = GREENFIELD_TASK_STEP) -> list[int]:
    """Positions for ``count`` retried tasks placed just ahead of the queue's head, in their original order.

    sosw gives a retried batch ``oldest - 1, oldest - 2, ...``, which runs the batch in reverse (bug 14). Foreman
    gives ``oldest - count, ..., oldest - 1`` so the first task of the batch is invoked first. ``oldest`` is the
    oldest queued greenfield, or ``None`` for an empty queue (sosw treats that as ``step``).
    """
    head = step if oldest is None else int(oldest)
    return [head - count + i for i in range(count)]
