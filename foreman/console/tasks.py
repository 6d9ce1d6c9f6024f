"""Where a labourer's tasks are, for the console's queue page and its search by task id.

Each list reads at most ``limit`` items, on the index a person would use in the AWS console: the queue, the running
and failed tasks, the expired ones and the completed ones on the tasks table's greenfield index; the tasks waiting for
a retry on the retry table's launch-time index (soonest first); the closed ones on the closed table's status index
(newest first). ``find_task`` looks a task up by id in the three tables and says where it is and why.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from foreman.status import markers_at
from foreman_core.config import Labourer, OrchestratorConfig
from foreman_core.greenfield import RunMarkers
from foreman_core.task_store import Task, TaskStore

PAYLOAD_CHARS = 300
"""How much of a payload a task's line shows."""
KEPT = ("failed_at", "failed_attempts", "result_error_type", "result_error_message", "completed_at", "closed_at",
        "close_reason", "desired_launch_time")  # fmt: skip


@dataclass(frozen=True)
class TaskLists:
    """Reads one labourer's tasks at ``now``."""

    dynamodb: Any
    config: OrchestratorConfig
    labourer: Labourer
    now: float

    @property
    def store(self) -> TaskStore:
        return TaskStore.for_config(self.dynamodb, self.config)

    @property
    def markers(self) -> RunMarkers:
        return markers_at(self.config, self.labourer, self.now)

    def all(self, limit: int) -> dict[str, list[dict[str, Any]]]:
        """Every kind of task, at most ``limit`` of each."""
        store, markers, labourer_id = self.store, self.markers, self.labourer.id
        return {
            "queued": self._json(store.next_tasks(labourer_id, limit, start=markers.start)),
            "running": self._json(self.running(limit)),
            "failed": self._json(store.failed_tasks(labourer_id, markers, limit=limit)),
            "expired": self._json(store.expired_tasks(labourer_id, markers, limit=limit)),
            "completed": self._json(store.completed_tasks(labourer_id, now=self.now, limit=limit)),
            "retry_waiting": self._json(self.retry_waiting(limit)),
            "closed_dead": self._json(self.closed(limit, completed=False)),
            "closed_completed": self._json(self.closed(limit, completed=True)),
        }

    def running(self, limit: int) -> list[Task]:
        """Invoked within ``duration + cooldown``, not completed, not failed: most recently invoked first."""
        store = self.store
        query = {
            "TableName": self.config.tables.tasks,
            "IndexName": self.config.tables.greenfield_index,
            "KeyConditionExpression": "labourer_id = :labourer AND greenfield >= :expired",
            "ExpressionAttributeValues": {":labourer": {"S": self.labourer.id}, ":expired": _n(self.markers.expired)},
            "FilterExpression": "attribute_not_exists(completed_at)",
            "ScanIndexForward": False,
        }
        found = []
        for item in _items(self.dynamodb, query):
            task = Task.from_item(item)
            if not store.failed_this_attempt(task):
                found.append(task)
                if len(found) >= limit:
                    break
        return found

    def retry_waiting(self, limit: int) -> list[Task]:
        """In the retry table, the soonest launch first."""
        query = {
            "TableName": self.config.tables.retry,
            "IndexName": self.config.tables.retry_index,
            "KeyConditionExpression": "labourer_id = :labourer",
            "ExpressionAttributeValues": {":labourer": {"S": self.labourer.id}},
            "ScanIndexForward": True,
        }
        return [Task.from_item(item) for item in islice(_items(self.dynamodb, query), limit)]

    def closed(self, limit: int, *, completed: bool) -> list[Task]:
        """In the closed table as completed or as dead, the most recently closed first."""
        query = {
            "TableName": self.config.tables.closed,
            "IndexName": self.config.tables.closed_index,
            "KeyConditionExpression": "labourer_id_task_status = :status",
            "ExpressionAttributeValues": {":status": {"S": f"{self.labourer.id}_{1 if completed else 0}"}},
            "ScanIndexForward": False,
        }
        keys = [item["task_id"] for item in islice(_items(self.dynamodb, query), limit) if "task_id" in item]
        if not keys:
            return []
        # The status index projects a few attributes only: the rows themselves carry the error and the reason.
        table = self.config.tables.closed
        found: dict[str, Task] = {}
        request: dict[str, Any] = {table: {"Keys": [{"task_id": key} for key in keys]}}
        while request:
            response = self.dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                task = Task.from_item(item)
                found[task.task_id] = task
            request = response.get("UnprocessedKeys") or {}
        return [found[key["S"]] for key in keys if key.get("S") in found]

    def _json(self, tasks: list[Task]) -> list[dict[str, Any]]:
        return [task_json(task, self.config.greenfield_invocation_delta) for task in tasks]


def task_json(task: Task, delta: int) -> dict[str, Any]:
    """A task for the page: its ids, counts and times, what it reported, and the start of its payload."""
    payload = task.payload_text if task.payload_text is not None else task.attributes.get("payload")
    text = payload if isinstance(payload, str) else (None if payload is None else str(payload))
    invoked = task.attempts > 0 and task.greenfield > task.created_at + delta / 2
    return {
        "task_id": task.task_id,
        "labourer_id": task.labourer_id,
        "created_at": task.created_at,
        "attempts": task.attempts,
        "greenfield": task.greenfield,
        **({"invoked_at": task.greenfield - delta} if invoked else {}),
        **{key: task.attributes[key] for key in KEPT if key in task.attributes},
        "payload": None if text is None else text[:PAYLOAD_CHARS],
        "payload_cut": text is not None and len(text) > PAYLOAD_CHARS,
    }


def find_task(dynamodb: Any, config: OrchestratorConfig, task_id: str, *, now: float) -> dict[str, Any]:
    """Where task ``task_id`` is (``queued``, ``running``, ``failed``, ``expired``, ``completed``,
    ``retry_waiting``, ``closed_completed``, ``closed_dead`` or ``unknown``), why, and the task as stored."""
    store = TaskStore.for_config(dynamodb, config)
    delta = config.greenfield_invocation_delta
    task = store.get_task(task_id)
    if task is not None:
        labourer = _labourer(config, task.labourer_id)
        markers = markers_at(config, labourer, now)
        where = task.state(markers).value
        if where == "running" and store.failed_this_attempt(task):
            where = "failed"
        return _found(where, _why_in_tasks(where, task, labourer, store, delta), task, delta)
    for labourer in config.labourers:
        waiting = _get(dynamodb, config.tables.retry, {"labourer_id": {"S": labourer.id}, "task_id": {"S": task_id}})
        if waiting is not None:
            launch = waiting.attributes.get("desired_launch_time")
            when = "now (the next Scavenger run queues it)" if launch is None or launch <= now else (
                f"at {_at(launch)}, in {_seconds(launch - now)}"
            )  # fmt: skip
            why = (f"waiting in the retry table after {waiting.attempts} attempt(s){_last_error(waiting)}; it is "
                   f"queued again {when}")  # fmt: skip
            return _found("retry_waiting", why, waiting, delta)
    closed = _get(dynamodb, config.tables.closed, {"task_id": {"S": task_id}})
    if closed is not None:
        status = str(closed.attributes.get("labourer_id_task_status", ""))
        completed = status.endswith("_1") if status else closed.is_completed
        at = closed.attributes.get("closed_at")
        when = f" at {_at(at)}" if isinstance(at, int | float) else ""
        if completed:
            return _found("closed_completed", f"completed, and archived to the closed table{when}", closed, delta)
        reason = closed.attributes.get("close_reason")
        why = (f"closed as dead{when} after {closed.attempts} attempt(s)" + (f": {reason}" if reason else "")
               + _last_error(closed))  # fmt: skip
        return _found("closed_dead", why, closed, delta)
    return {
        "task_id": task_id,
        "where": "unknown",
        "why": "in none of the tasks, retry and closed tables (a task waiting for a retry is found only under a "
        "labourer of the config)",
    }


def _found(where: str, why: str, task: Task, delta: int) -> dict[str, Any]:
    return {"task_id": task.task_id, "where": where, "why": why, "task": task_json(task, delta)}


def _why_in_tasks(where: str, task: Task, labourer: Labourer, store: TaskStore, delta: int) -> str:
    invoked = task.greenfield - delta
    window = labourer.duration + labourer.cooldown
    if where == "queued":
        ahead = store.queue_length(task.labourer_id, start=task.greenfield)
        return (f"queued for {task.labourer_id}: {ahead} task(s) ahead of it; {task.attempts} attempt(s) so far. A run "
                "invokes it when it reaches the head and the labourer has room under its cap")  # fmt: skip
    if where == "running":
        return (f"running: invoked at {_at(invoked)} (attempt {task.attempts}); it expires at "
                f"{_at(invoked + window)} (duration {labourer.duration} s + cooldown {labourer.cooldown} s) unless "
                "it completes or fails first")  # fmt: skip
    if where == "failed":
        failed_at = task.attributes.get("failed_at")
        return (f"failed: attempt {task.attempts}, invoked at {_at(invoked)}, reported a failure"
                + (f" at {_at(failed_at)}" if isinstance(failed_at, int | float) else "") + _last_error(task)
                + f". The next Scavenger run retries it, or closes it as dead after {labourer.max_attempts} "
                "attempt(s)")  # fmt: skip
    if where == "expired":
        return (f"expired: invoked at {_at(invoked)} (attempt {task.attempts}), not completed by "
                f"{_at(invoked + window)}. The next Scavenger run retries it, or closes it as dead after "
                f"{labourer.max_attempts} attempt(s)")  # fmt: skip
    completed_at = task.attributes.get("completed_at")
    return ("completed" + (f" at {_at(completed_at)}" if isinstance(completed_at, int | float) else "")
            + "; the next Scavenger run archives it to the closed table")  # fmt: skip


def _last_error(task: Task) -> str:
    kind, message = task.attributes.get("result_error_type"), task.attributes.get("result_error_message")
    if not kind and not message:
        return ""
    return f" (last error: {kind or 'error'}" + (f": {message}" if message else "") + ")"


def _labourer(config: OrchestratorConfig, labourer_id: str) -> Labourer:
    found = next((labourer for labourer in config.labourers if labourer.id == labourer_id), None)
    return found if found is not None else Labourer(id=labourer_id, arn=labourer_id)


def _get(dynamodb: Any, table: str, key: dict[str, Any]) -> Task | None:
    item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return Task.from_item(item) if item else None


def _items(dynamodb: Any, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    request = dict(query)
    while True:
        page = dynamodb.query(**request)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _n(value: float) -> dict[str, str]:
    return {"N": str(int(value))}


def _at(seconds: Any) -> str:
    return datetime.fromtimestamp(float(seconds), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _seconds(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
