"""The conservation check: every created task is in exactly one lifecycle state, none lost, none duplicated.

``census`` reads the three tables whole (Scan, for assertions only) and places each task:

- ``queued``: in the tasks table, ``greenfield < now``, no ``completed_at``;
- ``running``: in the tasks table, invoked (``greenfield >= now``), no ``completed_at`` (this includes tasks that
  have expired or reported a failure and wait for the next Scavenger run);
- ``completed``: in the tasks table with ``completed_at`` (waits for the Scavenger to archive it);
- ``retry-waiting``: in the retry table (a retried or a delayed task);
- ``closed-completed`` / ``closed-dead``: in the closed table, ``labourer_id_task_status`` ``<labourer>_1`` / ``_0``.

It fails (``ConservationError``, listing every problem) when a created task is in no table or in more than one, when
a table holds a task that was never created (e.g. a ghost item from an unconditional update) or an item without a
``labourer_id``, or when a closed row's status is neither ``_1`` nor ``_0``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from foreman_core.config import Tables
from foreman_core.task_store import from_attribute_value
from tests.builders import all_items

QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
RETRY_WAITING = "retry-waiting"
CLOSED_COMPLETED = "closed-completed"
CLOSED_DEAD = "closed-dead"
STATES = (QUEUED, RUNNING, COMPLETED, RETRY_WAITING, CLOSED_COMPLETED, CLOSED_DEAD)


class ConservationError(AssertionError):
    """Some task is lost, duplicated, unknown or malformed; the message lists every problem."""


@dataclass(frozen=True)
class Census:
    """Where each task is: ``states[task_id]`` is one of ``STATES``; ``items[task_id]`` the item as found (plain)."""

    states: dict[str, str]
    items: dict[str, dict[str, Any]]

    def counts(self) -> dict[str, int]:
        """How many tasks are in each state (states with none are left out)."""
        return dict(Counter(self.states.values()))

    def in_state(self, state: str) -> set[str]:
        """The ids of the tasks in ``state``."""
        return {task_id for task_id, where in self.states.items() if where == state}


def census(client: Any, created: Iterable[str], *, now: float, tables: Tables = Tables()) -> Census:  # noqa: B008
    """Place every task of ``created`` in exactly one state at ``now``; ``ConservationError`` if that fails."""
    expected = set(created)
    problems: list[str] = []
    seen: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for table in (tables.tasks, tables.retry, tables.closed):
        for raw in all_items(client, table):
            item = {name: from_attribute_value(value) for name, value in raw.items()}
            if table == tables.closed and "foreman_part_of" in item:
                continue  # a part row of a closed task too large for one row (closed_record): part of that task
            task_id = item.get("task_id")
            if not item.get("labourer_id"):
                problems.append(f"{table}: item {task_id!r} has no labourer_id (a ghost item)")
            if task_id not in expected:
                problems.append(f"{table}: task {task_id!r} was never created")
                continue
            seen.setdefault(task_id, []).append((table, item))
    states: dict[str, str] = {}
    items: dict[str, dict[str, Any]] = {}
    for task_id in sorted(expected):
        places = seen.get(task_id, [])
        if not places:
            problems.append(f"task {task_id} is lost: in no table")
            continue
        if len(places) > 1:
            problems.append(f"task {task_id} is duplicated: in {', '.join(table for table, _ in places)}")
            continue
        ((table, item),) = places
        state = _state(table, item, now, tables)
        if state is None:
            problems.append(f"task {task_id}: closed with status {item.get('labourer_id_task_status')!r}")
            continue
        states[task_id] = state
        items[task_id] = item
    if problems:
        raise ConservationError("task conservation violated:\n  " + "\n  ".join(problems))
    return Census(states=states, items=items)


def assert_conserved(
    client: Any,
    created: Iterable[str],
    *,
    now: float,
    expected: dict[str, int],
    tables: Tables = Tables(),  # noqa: B008
) -> Census:
    """``census`` plus: the count of tasks in each state is exactly ``expected`` (states not named: zero)."""
    result = census(client, created, now=now, tables=tables)
    counts = result.counts()
    wanted = {state: count for state, count in expected.items() if count}
    if counts != wanted:
        raise ConservationError(f"states {counts}, expected {wanted}")
    return result


def _state(table: str, item: dict[str, Any], now: float, tables: Tables) -> str | None:
    if table == tables.retry:
        return RETRY_WAITING
    if table == tables.closed:
        status = str(item.get("labourer_id_task_status", ""))
        if status == f"{item.get('labourer_id')}_1":
            return CLOSED_COMPLETED
        if status == f"{item.get('labourer_id')}_0":
            return CLOSED_DEAD
        return None
    if "completed_at" in item:
        return COMPLETED
    return QUEUED if float(item.get("greenfield", 0)) < now else RUNNING
