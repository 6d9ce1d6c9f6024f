"""One Orchestrator run: what each Lambda step of the state machine computes, and the state it hands on.

The state machine (``statemachine/orchestrator.asl.json``) calls these in order, one per state of the same name:
``load_config`` -> ``compute_ecology`` -> ``fetch_greenfield_tasks`` -> (InvokeLabourers, in ASL) -> ``summarize``.
Each takes the previous step's output (plain JSON) and returns the next; handlers only add AWS clients. The state
stays small: the config travels in its canonical form, tasks travel as their id with the greenfield and attempts the
fetch saw (``task_store.claim_item``; the claim returns the payload).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from foreman_core.config import (
    STATUS_NAMES,
    ConfigError,
    OrchestratorConfig,
    Tables,
    deployment_table_problems,
    read_back,
)
from foreman_core.controller_store import ControllerStore, track
from foreman_core.ecology import assess, desired_invocations
from foreman_core.greenfield import RunMarkers
from foreman_core.labourer_arns import LabourerArns
from foreman_core.lease import LeaseOutcome
from foreman_core.metrics import fetch_metric_values
from foreman_core.queue_report import UNREAD, measure_queue
from foreman_core.task_store import Task, TaskStore, claim_item
from foreman_core.task_validation import stored_task_problem

MAP_CONCURRENCY_LIMIT = 40
"""The most claims+invokes one labourer's InvokeTasks Map runs at once (ASL MaxConcurrency must stay >= 1)."""

REPORTED_SET_ASIDE = 20
"""At most this many set-aside tasks (id and reason) travel in the state per labourer; the rest are counted in
``set_aside_more`` (each is in the closed table with its reason)."""


def load_config(
    config: OrchestratorConfig,
    *,
    now: float,
    execution: str | None,
    deployment: Tables,
    labourer_arns: LabourerArns | None = None,
) -> dict[str, Any]:
    """LoadConfig: fix the run's clock and each labourer's greenfield markers.

    A config naming what this deployment cannot use is refused here (``ConfigError``, see ``deployment_problems``),
    at the start, rather than denied on every claim, query or invoke of every run.
    """
    problems = deployment_problems(config, deployment, labourer_arns)
    if problems:
        raise ConfigError(problems)
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


def deployment_problems(
    config: OrchestratorConfig, deployment: Tables, labourer_arns: LabourerArns | None
) -> list[tuple[str, str]]:
    """``(path, reason)`` for everything ``config`` names that the deployment's IAM policies do not allow: tables and
    indexes other than ``deployment``'s, labourers outside ``labourer_arns`` (``None``: not known, not checked).
    Each reason names the allowed value."""
    problems = deployment_table_problems(config, deployment)
    if labourer_arns is not None:
        problems += labourer_arns.problems(config)
    return problems


def compute_ecology(
    state: Mapping[str, Any],
    *,
    cloudwatch: Any,
    store: TaskStore,
    lease: LeaseOutcome | None = None,
    controllers: ControllerStore | None = None,
) -> dict[str, Any]:
    """ComputeEcology: each labourer's health, running count and desired number of invocations.

    ``lease`` is what the step found when it took the Orchestrator lease (``foreman_core.lease``), before counting:
    when another execution holds it, every labourer is ``busy`` (naming the holder) and desired is 0, so this run
    claims nothing. ``None`` (no lease in use) counts as held. All labourers' metrics are fetched together (identical
    queries once, up to 500 per CloudWatch call). A metric that cannot be read gives its ``no_data_status``,
    reported in ``health.readings``; it never fails the run.

    A labourer with ``target_tracking`` also steps its controller (``controller_store.track``, state in
    ``controllers``; ``None``: stepped from its floor and not stored): desired is then at most its ``allowed`` minus
    running, reported as ``target_tracking``. A busy run steps no controller.
    """
    config = read_back(state["config"])
    now = datetime.fromtimestamp(float(state["run"]["now"]), tz=UTC)
    queries = [metric.query for labourer in config.labourers for metric in labourer.health_metrics]
    values = fetch_metric_values(cloudwatch, queries, now=now) if queries else {}
    busy = None if lease is None or lease.held else {"holder": lease.holder, "until": lease.expires_at}
    # --- target tracking (issue 14): one read for every controller of the run, only by the lease holder
    tracked = [labourer.id for labourer in config.labourers if labourer.target_tracking is not None]
    stored = controllers.load(tracked) if controllers is not None and tracked and not busy else {}
    labourers = []
    for entry in state["labourers"]:
        labourer = config.labourer(entry["labourer_id"])
        markers = RunMarkers.from_dict(entry["markers"])
        health = assess(labourer, values)
        running = store.count_running(labourer.id, markers)
        coefficient = config.coefficient(health.status)
        cap = labourer.max_simultaneous_invocations
        desired = 0 if busy else desired_invocations(cap, coefficient, running)
        tracking = None
        tracked_metric = labourer.tracked_metric()
        if tracked_metric is not None and not busy:  # target tracking (issue 14): the controller bounds desired
            tracking = track(
                labourer,
                values.get(tracked_metric.query),
                stored=stored.get(labourer.id),
                store=controllers,
                running=running,
                now=now.timestamp(),
                run_start=int(state["run"]["start"]),
                execution=state["run"].get("execution"),
            )
            desired = min(desired, max(tracking["allowed"] - running, 0))
        labourers.append(
            {
                **entry,
                "health": health.to_dict(),
                "status": health.status,
                "cap": cap,
                "coefficient": coefficient,
                "running": running,
                "desired": desired,
                "busy": busy,
                "target_tracking": tracking,
            }
        )
    result = {**state, "labourers": labourers, "read_units": _read_units(state, "ComputeEcology", store)}
    if lease is not None:
        result["lease"] = lease.to_dict()
    return result


def fetch_greenfield_tasks(state: Mapping[str, Any], *, store: TaskStore) -> dict[str, Any]:
    """FetchGreenfieldTasks: the oldest queued tasks each labourer may start now (``tasks``: each as
    ``task_store.claim_item``, what its claim is conditional on), and its queue.

    The per-execution budget (``max_tasks_per_execution``) is shared fairly: every labourer with work gets an
    equal share, and what one does not need goes to the others. A task that could not be invoked as it is
    (``task_validation.stored_task_problem``) is set aside in the closed table with its reason, and the next task
    is taken instead.
    ``queue`` is the labourer's queue before this run takes from it (``queue_report.measure_queue``); the first task
    fetched is its head, so a labourer with tasks to take costs one more read for the tail.
    """
    config = read_back(state["config"])
    budget = share_budget(
        {entry["labourer_id"]: int(entry["desired"]) for entry in state["labourers"]},
        config.max_tasks_per_execution,
    )
    now = float(state["run"]["now"])
    labourers = []
    for entry in state["labourers"]:
        markers = RunMarkers.from_dict(entry["markers"])
        wanted = budget[entry["labourer_id"]]
        taken = _take_tasks(store, entry["labourer_id"], wanted, markers)
        queue = measure_queue(
            store,
            entry["labourer_id"],
            start=markers.start,
            now=now,
            step=config.greenfield_task_step,
            exact=config.exact_queue_depth,
            head=taken.head if wanted > 0 else UNREAD,
        )
        labourer = config.labourer(entry["labourer_id"])
        concurrency = min(max(labourer.max_simultaneous_invocations, 1), MAP_CONCURRENCY_LIMIT)
        labourers.append(
            {
                **entry,
                "budget": wanted,
                "tasks": taken.tasks,
                "set_aside": taken.set_aside,
                "set_aside_more": taken.set_aside_more,
                "queue": queue.to_dict(),
                "concurrency": concurrency,
                "markers": {**entry["markers"], "start_n": str(markers.start), "invoked_n": str(markers.invoked)},
            }
        )
    result = {
        "run": state["run"],
        "tables": {"tasks": config.tables.tasks},
        "max_tasks_per_execution": config.max_tasks_per_execution,
        "labourers": labourers,
        "read_units": _read_units(state, "FetchGreenfieldTasks", store),
    }
    if "lease" in state:
        result["lease"] = state["lease"]
    return result


def summarize(state: Mapping[str, Any]) -> dict[str, Any]:
    """Summarize: the per-labourer report that is the execution's output.

    ``lease`` says whether this execution held the Orchestrator lease (and gave it back), or which execution did:
    then every labourer is ``busy`` and nothing was invoked. For each labourer: status (with its name and the metric
    that set it), running, desired, fetched, invoked,
    skipped (claimed by another execution), released (invoke failed, task queued again), set aside, errors; its
    queue at the start of the run (depth, oldest age) and ``blocked_by_health``: tasks wait but its health allows
    no invocation at all (``floor(cap * coefficient) == 0`` with a cap above 0). The metrics are made from this.
    ``read_units``: the read capacity units each step's task reads consumed (``ComputeEcology``,
    ``FetchGreenfieldTasks``) and their ``total``.
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
            "fetched": len(entry["tasks"]),
            "invoked": outcomes["invoked"],
            "skipped": outcomes["skipped"],
            "released": outcomes["released"],
            "failed": outcomes["claim_failed"] + outcomes["release_failed"],
            "set_aside": entry["set_aside"],
            "set_aside_more": entry.get("set_aside_more", 0),
            "errors": dict(errors),
            "queue": entry.get("queue"),
            "blocked_by_health": _blocked_by_health(entry),
            "busy": entry.get("busy"),
            "target_tracking": entry.get("target_tracking"),
        }
        if result.get("error"):
            line["labourer_error"] = {"error": result["error"], "cause": result.get("cause")}
        report.append(line)
        for key in ("desired", "fetched", "invoked", "skipped", "released", "failed"):
            totals[key] += line[key]
        totals["set_aside"] += len(entry["set_aside"]) + entry.get("set_aside_more", 0)
    summary = {
        "execution": state["run"].get("execution"),
        "start": state["run"]["start"],
        "labourers": report,
        "totals": dict(totals),
    }
    if "read_units" in state:
        summary["read_units"] = {**state["read_units"], "total": sum(state["read_units"].values())}
    if "lease" in state:
        summary["lease"] = {**state["lease"], "returned": "lease_error" not in state and state["lease"]["held"]}
        if "lease_error" in state:
            summary["lease"]["error"] = state["lease_error"].get("Error")
    return summary


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


def _read_units(state: Mapping[str, Any], step: str, store: TaskStore) -> dict[str, float]:
    """The run's ``read_units`` so far with ``step``'s added: the read capacity units its store consumed, as
    DynamoDB reported them."""
    return {**state.get("read_units", {}), step: store.take_read_units()}


def _blocked_by_health(entry: Mapping[str, Any]) -> bool:
    queue = entry.get("queue") or {}
    if "coefficient" not in entry or not queue.get("depth") or entry["cap"] <= 0:
        return False
    return desired_invocations(entry["cap"], entry["coefficient"], 0) == 0


@dataclass
class _Taken:
    """What ``_take_tasks`` found: the valid ids, the set-aside tasks (listed, then counted), and the queue's head
    as first read (``None``: the queue was empty)."""

    tasks: list[list[str]] = field(default_factory=list)
    """``task_store.claim_item`` of each: what the Claim state needs of a task."""
    set_aside: list[dict[str, str]] = field(default_factory=list)
    set_aside_more: int = 0
    head: Task | None = None


def _take_tasks(store: TaskStore, labourer_id: str, wanted: int, markers: RunMarkers) -> _Taken:
    """Up to ``wanted`` valid queued tasks; the invalid ones met on the way are set aside (the first
    ``REPORTED_SET_ASIDE`` listed, the rest counted).

    Tasks are read whole (their payloads are checked) but one page at a time (``TaskStore.iter_next_tasks``), and only
    their claim item is kept: the step's memory holds one page of payloads, whatever the budget."""
    taken = _Taken()
    last: Task | None = None  # each round reads on from where the previous one stopped (its position only)
    for round_number in range(5):  # each round replaces what the previous one set aside; bounded so a bad queue ends
        asked = wanted - len(taken.tasks)
        if asked <= 0:
            break
        read = 0
        for task in store.iter_next_tasks(labourer_id, asked, start=markers.start, after=last):
            read += 1
            last = task.position()
            if round_number == 0 and read == 1:
                taken.head = last
            problem = stored_task_problem(task)
            if problem is None:
                taken.tasks.append(claim_item(task))
            elif store.archive(task, dead_reason=f"set aside by the Orchestrator: {problem}"):
                if len(taken.set_aside) < REPORTED_SET_ASIDE:
                    taken.set_aside.append({"task_id": task.task_id, "reason": problem})
                else:
                    taken.set_aside_more += 1
        if read < asked:
            break  # the queue has no more
    return taken
