"""How much work waits in a labourer's queue, and for how long: read cheaply, once per run, in FetchGreenfieldTasks.

Two numbers per labourer feed the ``QueueDepth`` and ``OldestQueuedAgeSeconds`` metrics:

- **oldest age**: ``now - created_at`` of the task at the head of the queue (the next one the Orchestrator takes).
  One ``Limit=1`` query: one item read, whatever the queue's length.
- **depth**, by default an **estimate** from the queue's two ends: queue positions are spaced by
  ``greenfield_task_step``, so ``(tail - head) // step + 1`` tasks lie between them. One more ``Limit=1`` query.
  It is exact for a queue filled by ``create_tasks`` and drained from the head by the Orchestrator. It counts too
  many when tasks left the middle of the queue (none do in Foreman; a hand-deleted task would), and too few when
  positions are shared (two creators racing for the same position) or packed (retried tasks are put just ahead of
  the head at a distance of 1, not ``step``).
- with ``exact_queue_depth: true`` in the config, depth is a COUNT query instead. DynamoDB charges a COUNT for every
  item it reads, so that costs the whole queue on every run (100,000 queued 1 KB tasks: about 12,500 read units per
  run, $0.0016 at $0.125 per million; 43,800 runs a month: $68 per labourer). Use it for small queues.

Measured before the run takes its tasks: the depth includes the tasks this run is about to invoke.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foreman_core.task_store import Task, TaskStore


@dataclass(frozen=True)
class QueueReport:
    """One labourer's queue at the start of a run.

    ``depth`` is the number of queued tasks (``exact`` says whether it was counted or estimated);
    ``oldest_age_seconds`` is the age of the task at the head, 0 for an empty queue, ``None`` when the head task has no
    ``created_at`` to tell its age from.
    """

    depth: int
    exact: bool
    oldest_age_seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, as it travels in the run's state and appears in the run report (the age to 0.1 s)."""
        age = None if self.oldest_age_seconds is None else round(self.oldest_age_seconds, 1)
        return {"depth": self.depth, "depth_exact": self.exact, "oldest_age_seconds": age}


def estimate_depth(head: int, tail: int, step: int) -> int:
    """How many queue positions ``step`` apart fit from ``head`` to ``tail`` (both queued): at least 1.

    >>> estimate_depth(2000, 11000, 1000)
    10
    """
    return max((tail - head) // step + 1, 1)


@dataclass(frozen=True)
class QueueRead:
    """What ``read_queue`` read: the report, and the queue's tail as read (``None``: empty, or not known), where a
    take that reaches it has read the whole queue."""

    report: QueueReport
    tail: Task | None


def read_queue(
    store: TaskStore,
    labourer_id: str,
    *,
    start: float,
    now: float,
    step: int,
    exact: bool = False,
) -> QueueRead:
    """The labourer's queue (``greenfield < start``) as seen at ``now``, and its tail as read: two ``Limit=1``
    queries (one for an empty queue), plus a COUNT query over the whole queue when ``exact``."""
    head, tail = store.queue_ends(labourer_id, start=start)
    if head is None:
        return QueueRead(QueueReport(depth=0, exact=True, oldest_age_seconds=0.0), None)
    well_formed = "created_at" in head.attributes and "created_at" not in head.malformed
    age = max(now - head.created_at, 0.0) if well_formed else None
    if exact:
        depth = store.queue_length(labourer_id, start=start)
        return QueueRead(QueueReport(depth=max(depth, 1), exact=True, oldest_age_seconds=age), tail)
    if tail is None:  # the index moved between the two reads: the head is all we know of
        return QueueRead(QueueReport(depth=1, exact=False, oldest_age_seconds=age), None)
    depth = estimate_depth(head.greenfield, tail.greenfield, step)
    return QueueRead(QueueReport(depth=depth, exact=False, oldest_age_seconds=age), tail)
