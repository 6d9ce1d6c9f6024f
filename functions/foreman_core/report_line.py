"""A labourer's line in a run's report: which fields it leaves out, and what a left-out field means.

ComputeEcology starts each line, FetchGreenfieldTasks and Summarize add to it, and the execution's output maps each
labourer's id to its line (``run.summarize``). A line always has ``status``; every other field is left out when it is
zero or empty, so a deployment of many idle labourers has a short report. Whoever reads a line (the metrics, the CLI,
the tests) reads a left-out field through ``line_value``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from foreman_core.queue_report import QueueReport

ALWAYS_REPORTED = ("status",)
"""The fields every report line has; the others are left out when they are zero or empty."""

IDLE_FIELDS = frozenset({"status", "desired", "set_by", "health"})
"""A report line with no field beyond these: its labourer had nothing queued, running, fetched or done in the run."""

HEALTH_NOT_READ = "not read"
"""A line's ``health`` when ComputeEcology did not read the labourer's health: nothing waited in its queue (its
``status`` is then 4, nothing was throttled), or the run claims nothing (the lease was busy). Such a line has no
``HealthStatus`` metric. A line whose health was read has no ``health`` field."""

EMPTY_QUEUE: dict[str, Any] = {"depth": 0, "oldest_age_seconds": 0.0}
"""What a left-out ``queue`` means: the labourer's queue was empty."""

LEFT_OUT: dict[str, Any] = {
    "set_aside": [],
    "errors": {},
    "queue": EMPTY_QUEUE,
    "set_by": None,
    "target_tracking": None,
    "labourer_error": None,
    "blocked_by_health": False,
    "health": None,
}
"""What a left-out field means, where it is not 0."""


def compact_line(line: Mapping[str, Any]) -> dict[str, Any]:
    """``line`` without its zero and empty fields (``ALWAYS_REPORTED`` stays)."""
    return {
        key: value for key, value in line.items() if key in ALWAYS_REPORTED or value not in (0, None, [], {}, False)
    }


def line_value(line: Mapping[str, Any], key: str) -> Any:
    """A report line's field, with what a left-out field means: 0 for a count, ``[]`` for ``set_aside``, ``{}`` for
    ``errors``, an empty queue for ``queue``, ``None`` for ``set_by``, ``target_tracking`` and ``labourer_error``,
    ``False`` for ``blocked_by_health``."""
    if key in line:
        return line[key]
    return LEFT_OUT.get(key, 0)


def is_idle(line: Mapping[str, Any]) -> bool:
    """Whether a report line's labourer was idle in the run (``IDLE_FIELDS``: zero fields are left out)."""
    return set(line) <= IDLE_FIELDS


def health_read(line: Mapping[str, Any]) -> bool:
    """Whether ComputeEcology read the line's labourer's health in the run (``HEALTH_NOT_READ``)."""
    return line.get("health") != HEALTH_NOT_READ


def set_aside_count(line: Mapping[str, Any]) -> int:
    """How many of the labourer's tasks the run set aside: those listed and those only counted."""
    return len(line_value(line, "set_aside")) + int(line_value(line, "set_aside_more"))


def queue_field(queue: QueueReport) -> dict[str, Any] | None:
    """A line's ``queue``: its depth and oldest age (to 0.1 s), ``depth_exact`` only when counted; ``None`` (left
    out) for an empty queue."""
    if not queue.depth:
        return None
    field = {"depth": queue.depth, "oldest_age_seconds": queue.to_dict()["oldest_age_seconds"]}
    if queue.exact:
        field["depth_exact"] = True
    return field
