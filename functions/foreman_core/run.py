"""One Orchestrator run: what each Lambda step of the state machine computes, and the state it hands on.

The state machine (``statemachine/orchestrator.asl.json``) calls these in order, one per state of the same name:
``load_config`` -> ``compute_ecology`` -> ``fetch_greenfield_tasks`` -> (InvokeLabourers, in ASL) -> ``summarize``.
Each takes the previous step's output (plain JSON) and returns the next; handlers only add AWS clients. The state
stays small: the config travels in its canonical form, tasks travel as ids only (the claim returns the payload).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from foreman_core.config import STATUS_NAMES, OrchestratorConfig, Tables, check_deployment_tables, parse_config
from foreman_core.ecology import assess, desired_invocations
from foreman_core.greenfield import RunMarkers
from foreman_core.metrics import fetch_metric_values
from foreman_core.queue_report import measure_queue
from foreman_core.task_store import InvalidPayloadError, Task, TaskStore

MAP_CONCURRENCY_LIMIT = 40
"""The most claims+invokes one labourer's InvokeTasks Map runs at once (ASL MaxConcurrency must stay >= 1)."""

MAX_STATE_PAYLOAD_BYTES = 240 * 1024
"""A task payload larger than this cannot travel through a state (256 KiB) with its fields: it is set aside."""

REQUIRED_ATTRIBUTES = ("task_id", "labourer_id", "created_at", "greenfield", "attempts", "payload")
"""What the Claim state reads from a task; a task without one of them is set aside rather than half-invoked."""


def load_config(config: OrchestratorConfig, *, now: float, execution: str | None, deployment: Tables) -> dict[str, Any]:
    """LoadConfig: fix the run's clock and each labourer's greenfield markers.

    ``deployment`` are the tables this stack was deployed with (and is allowed to write): a config naming other
    tables is an error here, at the start, rather than an access-denied claim later.
    """
    check_deployment_tables(config, deployment)
    start = int(now)
    labourers = []
    for labourer in config.labourers:
        markers = RunMarkers.at(
            start,
            duration=labourer.duration,
            cooldown=labourer.cooldown,
            delta=config.greenfield_invocation_delta,
        )
        labourers.append({"labourer_id": labourer.id, "arn": labourer.arn, "markers": markers.to_dict()})
    return {
        "run": {"execution": execution, "start": start, "now": now},
        "config": config.to_dict(),
        "labourers": labourers,
    }


def compute_ecology(state: Mapping[str, Any], *, cloudwatch: Any, store: TaskStore) -> dict[str, Any]:
    """ComputeEcology: each labourer's health, running count, desired number of invocations, and queue.

    All labourers' metrics are fetched together (identical queries once, up to 500 per CloudWatch call). A metric
    that cannot be read gives its ``no_data_status``, reported in ``health.readings``; it never fails the run.
    ``queue`` is the labourer's queue before this run takes from it (``queue_report.measure_queue``: two one-item
    reads, or a count of the whole queue with ``exact_queue_depth``).
    """
    config = parse_config(state["config"])
    now = datetime.fromtimestamp(float(state["run"]["now"]), tz=UTC)
    queries = [metric.query for labourer in config.labourers for metric in labourer.health_metrics]
    values = fetch_metric_values(cloudwatch, queries, now=now) if queries else {}
    labourers = []
    for entry in state["labourers"]:
        labourer = config.labourer(entry["labourer_id"])
        markers = RunMarkers.from_dict(entry["markers"])
        health = assess(labourer, values)
        running = store.count_running(labourer.id, markers)
        coefficient = config.coefficient(health.status)
        cap = labourer.max_simultaneous_invocations
        queue = measure_queue(
            store,
            labourer.id,
            start=markers.start,
            now=float(state["run"]["now"]),
            step=config.greenfield_task_step,
            exact=config.exact_queue_depth,
        )
        labourers.append(
            {
                **entry,
                "health": health.to_dict(),
                "status": health.status,
                "cap": cap,
                "coefficient": coefficient,
                "running": running,
                "desired": desired_invocations(cap, coefficient, running),
                "queue": queue.to_dict(),
            }
        )
    return {**state, "labourers": labourers}


def fetch_greenfield_tasks(state: Mapping[str, Any], *, store: TaskStore) -> dict[str, Any]:
    """FetchGreenfieldTasks: the ids of the oldest queued tasks each labourer may start now.

    The per-execution budget (``max_tasks_per_execution``) is shared fairly: every labourer with work gets an
    equal share, and what one does not need goes to the others. A task that could not be invoked as it is (no
    JSON-object payload, a payload too large for a state, a missing field) is set aside in the closed table with
    its reason, and the next task is taken instead.
    """
    config = parse_config(state["config"])
    budget = share_budget(
        {entry["labourer_id"]: int(entry["desired"]) for entry in state["labourers"]},
        config.max_tasks_per_execution,
    )
    labourers = []
    for entry in state["labourers"]:
        markers = RunMarkers.from_dict(entry["markers"])
        wanted = budget[entry["labourer_id"]]
        task_ids, set_aside = _take_tasks(store, entry["labourer_id"], wanted, markers)
        labourer = config.labourer(entry["labourer_id"])
        concurrency = min(max(labourer.max_simultaneous_invocations, 1), MAP_CONCURRENCY_LIMIT)
        labourers.append(
            {
                **entry,
                "budget": wanted,
                "task_ids": task_ids,
                "set_aside": set_aside,
                "concurrency": concurrency,
                "markers": {**entry["markers"], "start_n": str(markers.start), "invoked_n": str(markers.invoked)},
            }
        )
    return {
        "run": state["run"],
        "tables": {"tasks": config.tables.tasks},
        "max_tasks_per_execution": config.max_tasks_per_execution,
        "labourers": labourers,
    }


def summarize(state: Mapping[str, Any]) -> dict[str, Any]:
    """Summarize: the per-labourer report that is the execution's output.

    For each labourer: status (with its name and the metric that set it), running, desired, fetched, invoked,
    skipped (claimed by another execution), released (invoke failed, task queued again), set aside, errors; its
    queue at the start of the run (depth, oldest age) and ``blocked_by_health``: tasks wait but its health allows
    no invocation at all (``floor(cap * coefficient) == 0`` with a cap above 0). The metrics are made from this.
    """
    results = {result["labourer_id"]: result for result in state.get("results", [])}
    report = []
    totals: Counter[str] = Counter()
    for entry in state["labourers"]:
        result = results.get(entry["labourer_id"], {})
        outcomes = Counter(item["outcome"] for item in result.get("outcomes", []))
        errors = Counter(item["error"] for item in result.get("outcomes", []) if item.get("error"))
        line: dict[str, Any] = {
            "labourer_id": entry["labourer_id"],
            "status": entry["status"],
            "status_name": STATUS_NAMES[entry["status"]],
            "set_by": entry["health"]["set_by"],
            "health": entry["health"],
            "cap": entry["cap"],
            "running": entry["running"],
            "desired": entry["desired"],
            "fetched": len(entry["task_ids"]),
            "invoked": outcomes["invoked"],
            "skipped": outcomes["skipped"],
            "released": outcomes["released"],
            "failed": outcomes["claim_failed"] + outcomes["release_failed"],
            "set_aside": entry["set_aside"],
            "errors": dict(errors),
            "queue": entry.get("queue"),
            "blocked_by_health": _blocked_by_health(entry),
        }
        if result.get("error"):
            line["labourer_error"] = {"error": result["error"], "cause": result.get("cause")}
        report.append(line)
        for key in ("desired", "fetched", "invoked", "skipped", "released", "failed"):
            totals[key] += line[key]
        totals["set_aside"] += len(entry["set_aside"])
    return {
        "execution": state["run"].get("execution"),
        "start": state["run"]["start"],
        "labourers": report,
        "totals": dict(totals),
    }


def share_budget(desired: Mapping[str, int], budget: int) -> dict[str, int]:
    """Split ``budget`` tasks between labourers wanting ``desired``: equal shares, leftovers to those wanting more.

    No labourer gets more than it wants; the total never exceeds ``budget``; when everybody's wants fit, everybody
    gets what it wants. Ties in the last round go to labourers in config order.
    """
    granted = dict.fromkeys(desired, 0)
    remaining = budget
    hungry = [key for key, want in desired.items() if want > 0]
    while remaining > 0 and hungry:
        share = max(remaining // len(hungry), 1)
        for key in list(hungry):
            give = min(share, desired[key] - granted[key], remaining)
            granted[key] += give
            remaining -= give
            if granted[key] >= desired[key]:
                hungry.remove(key)
            if remaining == 0:
                break
    return granted


def _blocked_by_health(entry: Mapping[str, Any]) -> bool:
    queue = entry.get("queue") or {}
    if "coefficient" not in entry or not queue.get("depth") or entry["cap"] <= 0:
        return False
    return desired_invocations(entry["cap"], entry["coefficient"], 0) == 0


def _take_tasks(store: TaskStore, labourer_id: str, wanted: int, markers: RunMarkers) -> tuple[list[str], list[dict]]:
    task_ids: list[str] = []
    set_aside: list[dict[str, str]] = []
    for _ in range(5):  # each round replaces what the previous one set aside; bounded so a bad queue ends
        asked = wanted - len(task_ids)
        if asked <= 0:
            break
        tasks = store.next_tasks(labourer_id, asked, start=markers.start)
        for task in tasks:
            problem = _invalid_reason(task)
            if problem is None:
                task_ids.append(task.task_id)
            elif store.archive(task, dead_reason=f"set aside by the Orchestrator: {problem}"):
                set_aside.append({"task_id": task.task_id, "reason": problem})
        if len(tasks) < asked:
            break  # the queue has no more
    return task_ids, set_aside


def _invalid_reason(task: Task) -> str | None:
    missing = [name for name in REQUIRED_ATTRIBUTES if name not in task.attributes]
    if missing:
        return f"missing attribute(s) {', '.join(missing)}"
    if not isinstance(task.attributes["payload"], str):
        return "payload is not a string holding a JSON object"
    if len(task.attributes["payload"].encode()) > MAX_STATE_PAYLOAD_BYTES:
        return f"payload is larger than {MAX_STATE_PAYLOAD_BYTES} bytes, more than a Step Functions state can carry"
    try:
        task.payload  # noqa: B018 - parsing is the check
    except InvalidPayloadError as error:
        return str(error)
    if not math.isfinite(float(task.created_at)):
        return "created_at is not a finite number"
    return None
