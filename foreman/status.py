"""Where each labourer's tasks stand, read from sosw's tables, and its health, read from CloudWatch.

``status_report`` is what ``foreman status`` prints: per labourer how many tasks are queued, running, failed (their
current attempt reported a failure: the next Scavenger run retries or closes them), expired, completed (not yet
archived), waiting for a retry, closed as completed and closed as dead, with the eco status the Orchestrator would
compute now. A failed task is never counted as running, though, like sosw, the Orchestrator holds its place against
the cap until the Scavenger moves it (``desired`` counts it). Counts use COUNT queries on the tables' indexes; the
health comes from ``foreman_core.metrics`` and ``foreman_core.ecology``, the very code the ComputeEcology step runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from foreman_core.config import STATUS_NAMES, ConfigError, Labourer, OrchestratorConfig, Tables, parse_config
from foreman_core.controller_store import ControllerStore, StoredController
from foreman_core.ecology import LabourerHealth, assess, desired_invocations
from foreman_core.greenfield import RunMarkers
from foreman_core.metrics import fetch_metric_values
from foreman_core.task_store import TaskStore


@dataclass(frozen=True)
class LabourerStatus:
    """One labourer's tasks and health at ``now``."""

    labourer_id: str
    cap: int
    queued: int
    running: int
    """Invoked, within ``duration + cooldown``, not completed, and not failed."""
    expired: int
    completed: int
    retry_waiting: int
    closed_completed: int
    closed_dead: int
    health: LabourerHealth
    desired: int
    failed: int = 0
    """Within the running window, their current attempt reported a failure (the queue page's "failed this
    attempt"); the Scavenger retries or closes them."""
    controller: StoredController | None = None
    """Target tracking's stored state (``None``: no target tracking, or never stepped, or not read)."""
    tracked: bool = False
    """The labourer has target tracking."""

    @property
    def controller_text(self) -> str:
        """``"allowed 6 (5.71), DBCPU 62 at 14:03 for target 60, last step: decrease"`` or why there is none."""
        stored = self.controller
        if stored is None:
            return "not stepped yet (no run has held the lease since target tracking was configured)"
        reading = "no reading" if stored.reading is None else f"read {stored.reading:g}"
        when = datetime.fromtimestamp(stored.run_start, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        target = "" if stored.target is None else f" for target {stored.target:g}"
        return (
            f"allowed {stored.allowed} (allowance {stored.state.allowed:.2f}), {reading}{target}, "
            f"last step: {stored.reason} by the run of {when}"
        )

    @property
    def health_text(self) -> str:
        """``"2 Moderate (ReportsDBCPU 72)"``, ``"4 High"`` or ``"0 Bad (ReportsDBCPU: no data)"``."""
        text = f"{self.health.status} {STATUS_NAMES.get(self.health.status, '?')}"
        reading = next((r for r in self.health.readings if r.metric == self.health.set_by), None)
        if reading is None:
            return text
        if reading.error:
            return f"{text} ({reading.metric}: {reading.error})"
        if reading.no_data:
            return f"{text} ({reading.metric}: no data)"
        return f"{text} ({reading.metric} {reading.value:g})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "labourer_id": self.labourer_id,
            "cap": self.cap,
            "queued": self.queued,
            "running": self.running,
            "failed": self.failed,
            "expired": self.expired,
            "completed": self.completed,
            "retry_waiting": self.retry_waiting,
            "closed_completed": self.closed_completed,
            "closed_dead": self.closed_dead,
            "desired": self.desired,
            "health": self.health.to_dict(),
            **({"target_tracking": self.controller and self.controller.to_dict()} if self.tracked else {}),
        }


def _count(dynamodb: Any, query: dict[str, Any]) -> int:
    total = 0
    for page in _pages(dynamodb, {**query, "Select": "COUNT"}):
        total += int(page.get("Count", 0))
    return total


def _pages(dynamodb: Any, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    request = dict(query)
    while True:
        page: dict[str, Any] = dynamodb.query(**request)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def count_closed(dynamodb: Any, tables: Tables, labourer_id: str, *, completed: bool) -> int:
    """Tasks in the closed table as completed (``<id>_1``) or dead (``<id>_0``), on its status index."""
    return _count(
        dynamodb,
        {
            "TableName": tables.closed,
            "IndexName": tables.closed_index,
            "KeyConditionExpression": "labourer_id_task_status = :status",
            "ExpressionAttributeValues": {":status": {"S": f"{labourer_id}_{1 if completed else 0}"}},
        },
    )


def count_retry_waiting(dynamodb: Any, tables: Tables, labourer_id: str) -> int:
    """Tasks in the retry table (waiting for their ``desired_launch_time``), by its hash key."""
    return _count(
        dynamodb,
        {
            "TableName": tables.retry,
            "KeyConditionExpression": "labourer_id = :labourer",
            "ExpressionAttributeValues": {":labourer": {"S": labourer_id}},
        },
    )


def config_despite_errors(raw: Any, tables: Tables) -> OrchestratorConfig:
    """The labourers an invalid config still names, so their queues can be shown while it is being fixed.

    Each labourer under ``task_config.labourers`` keeps its own settings when they are valid on their own, and gets
    the defaults (no health metrics, sosw's duration and cooldown) when they are not. ``tables`` are the
    deployment's, whatever the config says. No labourers if the config has no readable ``task_config.labourers``.
    """
    task_config = raw.get("task_config") if isinstance(raw, Mapping) else None
    labourers = task_config.get("labourers") if isinstance(task_config, Mapping) else None
    result: list[Labourer] = []
    for labourer_id, settings in (labourers or {}).items() if isinstance(labourers, Mapping) else ():
        if not isinstance(labourer_id, str) or not labourer_id:
            continue
        try:
            alone = parse_config({"task_config": {"labourers": {labourer_id: settings}}}, tables=tables)
            result.append(alone.labourers[0])
        except ConfigError:
            result.append(Labourer(id=labourer_id, arn=labourer_id))
    return OrchestratorConfig(labourers=tuple(result), tables=tables)


def markers_at(config: OrchestratorConfig, labourer: Labourer, now: float) -> RunMarkers:
    """The greenfield markers of a run starting at ``now`` for ``labourer`` (as LoadConfig computes them)."""
    return RunMarkers.at(
        now, duration=labourer.duration, cooldown=labourer.cooldown, delta=config.greenfield_invocation_delta
    )


def status_report(
    config: OrchestratorConfig,
    *,
    dynamodb: Any,
    cloudwatch: Any,
    now: float,
    labourer_ids: Sequence[str] | None = None,
    controllers: ControllerStore | None = None,
) -> list[LabourerStatus]:
    """Every (or the named) labourer's counts and health at ``now``; ``KeyError`` for an unknown labourer id.
    ``controllers``: where target tracking keeps its state (the coordination table), read once for every tracked
    labourer; ``None``: not shown."""
    labourers = [config.labourer(i) for i in labourer_ids] if labourer_ids else list(config.labourers)
    queries = [metric.query for labourer in labourers for metric in labourer.health_metrics]
    values = fetch_metric_values(cloudwatch, queries, now=datetime.fromtimestamp(now, tz=UTC)) if queries else {}
    store = TaskStore(
        dynamodb, config.tables, delta=config.greenfield_invocation_delta, step=config.greenfield_task_step
    )
    tracked = [labourer.id for labourer in labourers if labourer.target_tracking is not None]
    stored = controllers.load(tracked) if controllers is not None and tracked else {}
    report = []
    for labourer in labourers:
        markers = markers_at(config, labourer, now)
        health = assess(labourer, values)
        occupying = store.count_running(labourer.id, markers)  # what the Orchestrator holds against the cap
        failed = min(len(store.failed_tasks(labourer.id, markers)), occupying)
        cap = labourer.max_simultaneous_invocations
        report.append(
            LabourerStatus(
                labourer_id=labourer.id,
                cap=cap,
                queued=store.queue_length(labourer.id, start=markers.start),
                running=occupying - failed,
                failed=failed,
                expired=len(store.expired_tasks(labourer.id, markers)),
                completed=len(store.completed_tasks(labourer.id, now=now)),
                retry_waiting=count_retry_waiting(dynamodb, config.tables, labourer.id),
                closed_completed=count_closed(dynamodb, config.tables, labourer.id, completed=True),
                closed_dead=count_closed(dynamodb, config.tables, labourer.id, completed=False),
                health=health,
                desired=desired_invocations(cap, config.coefficient(health.status), occupying),
                controller=stored.get(labourer.id),
                tracked=labourer.target_tracking is not None,
            )
        )
    return report


def done_count(dynamodb: Any, config: OrchestratorConfig, labourer_id: str, *, now: float) -> int:
    """Tasks done: completed ones still in the tasks table plus those archived as completed."""
    store = TaskStore(dynamodb, config.tables, delta=config.greenfield_invocation_delta)
    return len(store.completed_tasks(labourer_id, now=now)) + count_closed(
        dynamodb, config.tables, labourer_id, completed=True
    )
