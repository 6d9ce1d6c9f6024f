"""One Orchestrator run: what each Lambda step of the state machine computes, and the state it hands on.

The Orchestrator (``statemachine/orchestrator.asl.json``) calls these in order, one per state of the same name:
``load_config`` -> ``compute_ecology`` -> ``fetch_greenfield_tasks``, then hands the run's groups to its Invocations
execution (``statemachine/invocations.asl.json``: InvokeLabourers, a Distributed Map, in ASL) -> ``summarize`` (a run
with nothing to invoke summarizes at once). Each takes the previous step's output (plain JSON) and the run's config,
and returns the next; handlers only add AWS clients, S3 (``run_groups``) and read the config back from the state's
reference (``config_source.load_pinned``). The state grows neither with the config nor with the tasks: it carries
the config's reference, a short report line per labourer, and where the run's groups are in S3 (each task as its id
with the greenfield, attempts, payload and ``created_at`` the fetch saw: ``task_store.claim_item``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from foreman_core import run_clock, run_limits, task_budget
from foreman_core.config import (
    ConfigError,
    OrchestratorConfig,
    Tables,
    deployment_table_problems,
)
from foreman_core.config_source import ConfigReference
from foreman_core.controller_store import ControllerStore, track
from foreman_core.ecology import MAX_STATUS, LabourerHealth, assess, desired_invocations
from foreman_core.greenfield import RunMarkers
from foreman_core.labourer_arns import LabourerArns
from foreman_core.lease import ClaimsLeft, LeaseOutcome
from foreman_core.metrics import fetch_metric_values
from foreman_core.queue_report import read_queue
from foreman_core.report_line import HEALTH_NOT_READ, compact_line, health_read, queue_field, set_aside_count
from foreman_core.task_store import Task, TaskStore, claim_item
from foreman_core.task_validation import stored_task_problem

MAP_CONCURRENCY_LIMIT = 40
"""The most claims+invokes one labourer's InvokeTasks Map runs at once (ASL MaxConcurrency must stay >= 1)."""

REPORTED_SET_ASIDE = 20
"""At most this many set-aside tasks (id and reason) travel in a run's state, over all its labourers; the rest are
counted in each labourer's ``set_aside_more`` (each is in the closed table with its reason)."""

REPORTED_CAUSE_CHARS = 500
"""A failed labourer iteration's cause is cut to this many characters in the report (the history has it whole)."""


def load_config(
    config: OrchestratorConfig,
    *,
    now: float,
    execution: str | None,
    deployment: Tables,
    labourer_arns: LabourerArns | None = None,
    reference: ConfigReference | None = None,
    run_id: str | None = None,
    claim_deadline: float | None = None,
) -> dict[str, Any]:
    """LoadConfig: fix the run's clock (``now``), its id (``run_id``, default a new one: the lease's owner and every
    claim's mark) and its claim deadline (``claim_deadline``, unix seconds on the service's clock; default ``now`` +
    ``run_clock.CLAIM_WINDOW_SECONDS``): see ``run_clock``. The state carries ``reference`` (where the config is and
    its fingerprint, ``config_source.ConfigReference``) instead of the config, and the labourers' ids (the
    Scavenger's Map runs over them). Without ``reference`` (tests, a config built in memory) it refers to an
    in-memory config.

    A config naming what this deployment cannot use is refused here (``ConfigError``, see ``deployment_problems``),
    at the start, rather than denied on every claim, query or invoke of every run.
    """
    problems = deployment_problems(config, deployment, labourer_arns) + run_limits.config_problems(config)
    if problems:
        raise ConfigError(problems)
    if reference is None:
        reference = ConfigReference(
            "memory:", config.fingerprint(), task_budget.EXPRESS, labourers=len(config.labourers)
        )
    deadline = now + run_clock.CLAIM_WINDOW_SECONDS if claim_deadline is None else claim_deadline
    return {
        "run": {
            "execution": execution,
            "id": run_id or run_clock.new_run_id(),
            "start": int(now),
            "now": now,
            "claim_deadline": run_clock.deadline_text(deadline),
        },
        "config": reference.to_dict(),
        "labourers": [labourer.id for labourer in config.labourers],
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
    config: OrchestratorConfig,
    *,
    cloudwatch: Any,
    store: TaskStore,
    lease: LeaseOutcome | None = None,
    controllers: ControllerStore | None = None,
    observe: Callable[[str, LabourerHealth], None] | None = None,
) -> dict[str, Any]:
    """ComputeEcology: each labourer's health, running count and desired number of invocations, as the first
    fields of its report line (``report``: labourer id -> line, see ``summarize``). ``config`` is the run's
    (``config_source.load_pinned`` of the state's reference).

    ``lease`` is what the step found when it took the Orchestrator lease (``foreman_core.lease``), before counting:
    when another execution holds it, this run claims nothing and reads nothing: every line is ``{"status": 4,
    "health": "not read"}`` and the state's ``lease`` names the holder. ``None`` (no lease in use) counts as held.
    The claims the lease's previous holder left (``lease.PreviousHolder``) are counted as running even where the
    greenfield index does not show them yet.

    What a run reads scales with the work, not the labourers: one ``Limit=1`` query per labourer tells whether tasks
    wait in its queue (``TaskStore.has_queued``); only those labourers' health metrics are fetched (identical queries
    once, up to 500 per CloudWatch call) and only their controllers stepped. The others' lines have status 4 and
    ``health`` "not read" (``report_line.HEALTH_NOT_READ``), and FetchGreenfieldTasks does not read their queues.
    A metric that cannot be read gives its ``no_data_status``; it never fails the run. The line names the metric
    that set a status below 4 (``set_by``); ``observe`` is called with each labourer's whole health (every
    reading), for the step's log.

    A labourer with ``target_tracking`` also steps its controller (``controller_store.track``, state in
    ``controllers``; ``None``: stepped from its floor and not stored): desired is then at most its ``allowed`` minus
    running, reported as ``target_tracking``. A busy run steps no controller, nor does a run in which nothing waits
    for the labourer (the controller keeps its state until tasks wait again).
    """
    now = datetime.fromtimestamp(float(state["run"]["now"]), tz=UTC)
    start = int(state["run"]["start"])
    busy = lease is not None and not lease.held
    previous = lease.previous if lease is not None else None
    report: dict[str, dict[str, Any]] = {}
    # A run that claims nothing reads nothing; a labourer with nothing queued has no health read (its status is
    # 4: nothing is throttled) and its controller is not stepped: its metrics would change no decision.
    waiting = [] if busy else [labourer for labourer in config.labourers if store.has_queued(labourer.id, start=start)]
    queries = [metric.query for labourer in waiting for metric in labourer.health_metrics]
    values = fetch_metric_values(cloudwatch, queries, now=now) if queries else {}
    # --- target tracking (issue 14): one read for every controller of the run, only by the lease holder
    tracked = [labourer.id for labourer in waiting if labourer.target_tracking is not None]
    stored = controllers.load(tracked) if controllers is not None and tracked else {}
    assessed = {labourer.id for labourer in waiting}
    for labourer in config.labourers:
        if busy:
            report[labourer.id] = {"status": MAX_STATUS, "health": HEALTH_NOT_READ}
            continue
        markers = config.markers(labourer.id, start)
        running = store.count_running(
            labourer.id,
            markers,
            recent_ids=previous.claims.ids.get(labourer.id, ()) if previous is not None else (),
            recent_unknown=previous.claims.unknown.get(labourer.id, 0) if previous is not None else 0,
        )
        if labourer.id not in assessed:
            report[labourer.id] = compact_line({"status": MAX_STATUS, "running": running, "health": HEALTH_NOT_READ})
            continue
        health = assess(labourer, values)
        if observe is not None:
            observe(labourer.id, health)
        cap = labourer.max_simultaneous_invocations
        desired = desired_invocations(cap, config.coefficient(health.status), running)
        line: dict[str, Any] = {"status": health.status, "running": running, "desired": desired}
        if health.status < MAX_STATUS and health.set_by is not None:
            line["set_by"] = health.set_by
        tracked_metric = labourer.tracked_metric()
        if tracked_metric is not None:  # target tracking (issue 14): the controller bounds desired
            tracking = track(
                labourer,
                values.get(tracked_metric.query),
                stored=stored.get(labourer.id),
                store=controllers,
                running=running,
                now=now.timestamp(),
                run_start=start,
                execution=state["run"].get("execution"),
            )
            line["desired"] = min(desired, max(tracking["allowed"] - running, 0))
            line["target_tracking"] = tracking
        report[labourer.id] = compact_line(line)
    result: dict[str, Any] = {
        "run": state["run"],
        "config": state["config"],
        "report": report,
        "read_units": _read_units(state, "ComputeEcology", store),
    }
    if lease is not None:
        result["lease"] = lease.to_dict()
    return result


def fetch_greenfield_tasks(state: Mapping[str, Any], config: OrchestratorConfig, *, store: TaskStore) -> dict[str, Any]:
    """FetchGreenfieldTasks: the oldest queued tasks each labourer may start now, and its queue.

    ``invocations`` lists the run's groups (``run_limits.split_groups``: one child workflow execution's share each,
    consecutive tasks of one labourer), each with its labourer's fields and its tasks (each as
    ``task_store.claim_item``, what its claim is conditional on); only labourers with tasks have groups. The handler
    writes them to S3 and puts their ``run_groups.Location`` in their place, so no state carries the tasks. Every
    labourer's report line gains ``fetched``, ``queue`` (``queue_report.read_queue``: its two ends, positions only,
    read first so the budget goes to labourers with tasks queued; not read again for a labourer whose health
    ComputeEcology did not read: its queue was empty), ``set_aside`` and ``deferred``.

    ``max_tasks_per_execution`` (``task_budget``) is shared fairly (``share_budget``); what a labourer wanted, had
    queued and did not get is ``deferred`` to the next run. A task that could not be invoked as it is
    (``task_validation.stored_task_problem``) is set aside in the closed table with its reason, and the next task is
    taken instead.
    """
    start = int(state["run"]["start"])
    now = float(state["run"]["now"])
    limits = run_limits.RunLimits.of(config.max_tasks_per_execution)
    report = {labourer_id: dict(line) for labourer_id, line in state["report"].items()}
    wants, tails = _read_queues(config, report, store, start=start, now=now)
    budget = grant(wants, limits, seed=start)
    busy = sum(1 for wanted in budget.values() if wanted > 0)
    room = run_limits.run_payload_bytes_most() // max(busy, 1)  # each busy labourer's fair share of the bytes
    takes = {
        labourer_id: _take_tasks(store, labourer_id, wanted, config.markers(labourer_id, start), byte_room=room)
        for labourer_id, wanted in budget.items()
        if wanted > 0
    }  # fmt: skip
    _take_more(config, report, store, takes=takes, tails=tails, budget=budget, limits=limits, start=start)
    invocations: list[dict[str, Any]] = []
    unlisted = REPORTED_SET_ASIDE
    for labourer in config.labourers:
        taken = takes.get(labourer.id)
        if taken is None:
            continue
        line = report[labourer.id]
        listed = taken.set_aside[:unlisted]  # at most REPORTED_SET_ASIDE listed in the whole run
        unlisted -= len(listed)
        if listed:
            line["set_aside"] = listed
        if taken.set_aside_more or len(taken.set_aside) > len(listed):
            line["set_aside_more"] = taken.set_aside_more + len(taken.set_aside) - len(listed)
        if taken.tasks:
            invocations.append(
                {
                    "labourer_id": labourer.id,
                    "arn": labourer.arn,
                    "concurrency": min(max(labourer.max_simultaneous_invocations, 1), MAP_CONCURRENCY_LIMIT),
                    "tasks": taken.tasks,
                }
            )
    fetched = {entry["labourer_id"]: len(entry["tasks"]) for entry in invocations}
    for labourer_id, line in report.items():
        line["fetched"] = fetched.get(labourer_id, 0)
        cut = takes[labourer_id].cut if labourer_id in takes else 0
        line["deferred"] = max(wants[labourer_id] - budget.get(labourer_id, 0) + cut, 0)
        report[labourer_id] = compact_line(line)
    result: dict[str, Any] = {
        "run": state["run"],
        "config": state["config"],
        "claim": _claim_values(config, state["run"]),
        "invocations": run_limits.split_groups(invocations),
        "report": report,
        "read_units": _read_units(state, "FetchGreenfieldTasks", store),
    }
    if "lease" in state:
        result["lease"] = state["lease"]
    return result


def summarize(
    state: Mapping[str, Any],
    results: Sequence[Mapping[str, Any]] = (),
    *,
    lease_returned: bool = False,
    lease_error: str | None = None,
) -> dict[str, Any]:
    """Summarize: the run's per-labourer report, the output of its Invocations execution (or of the Orchestrator
    execution, for a run with nothing to invoke). ``state`` is FetchGreenfieldTasks' output; ``results`` is one
    result per group (``run_groups.read_results``: its tasks' outcomes, or the error that ended its child).

    ``labourers`` maps each labourer's id to its line; a line always has ``status`` (0-4), and the rest only when
    it is not zero or empty, so a deployment of many idle labourers has a short report (about 40 bytes a line):
    ``running``, ``desired``, ``set_by`` (the metric that set a status below 4), ``fetched``, ``invoked``,
    ``skipped`` (claimed by another execution), ``released`` (invoke failed, task queued again), ``failed`` (claim
    or release failed), ``errors`` (the error names of those, counted), ``set_aside`` (with ``set_aside_more``),
    ``deferred`` (wanted and queued, left for the next run by the run's limits), ``queue`` (its depth and oldest
    age at the start of the run), ``blocked_by_health`` (tasks wait but its health allows no invocation at all),
    ``target_tracking``, ``labourer_error`` (a child of its groups failed as a whole: the last such error) and
    ``lost`` (the tasks of such children: each may have been claimed and invoked or not; the Scavenger gives back the
    attempt of those that were not). ``totals`` adds the counts up.

    ``lease`` says whether this run held the Orchestrator lease and whether it gave it back (``lease_returned``, or
    the error's name, ``lease_error``: the lease then expires by itself), or which execution held it: then nothing was
    invoked. ``unsure``: invokes whose answer was ambiguous (the event may be queued: not retried, not released).
    ``late``: fetched but not claimed before the run's claim deadline (also counted in ``deferred``). ``redriven``:
    not claimed because the execution was redriven (a redriven run claims nothing). ``config`` is the reference of the
    config the run used (its fingerprint).
    ``read_units``: the read capacity units each step's task reads consumed (``ComputeEcology``,
    ``FetchGreenfieldTasks``) and their ``total``.
    """
    report = {labourer_id: dict(line) for labourer_id, line in state["report"].items()}
    outcomes: dict[str, Counter[str]] = {}
    errors: dict[str, Counter[str]] = {}
    for result in results:  # each group's: its tasks' outcomes, or the error that ended its child
        labourer_id = result["labourer_id"]
        outcomes.setdefault(labourer_id, Counter()).update(item["outcome"] for item in result.get("outcomes", []))
        errors.setdefault(labourer_id, Counter()).update(
            item["error"] for item in result.get("outcomes", []) if item.get("error")
        )
        if result.get("error"):
            cause = result.get("cause")
            if isinstance(cause, str) and len(cause) > REPORTED_CAUSE_CHARS:
                cause = cause[: REPORTED_CAUSE_CHARS - 3] + "..."
            line = report[labourer_id]
            line["labourer_error"] = {"error": result["error"], "cause": cause}
            line["lost"] = int(line.get("lost", 0)) + len(result.get("task_ids", ()))
    for labourer_id, counted in outcomes.items():
        line = report[labourer_id]
        late = counted["late"] + counted["not_started"]  # fetched, not claimed: still queued for the next run
        line.update(
            invoked=counted["invoked"],
            unsure=counted["unsure"],
            skipped=counted["skipped"],
            released=counted["released"],
            failed=counted["claim_failed"] + counted["release_failed"] + counted["attempt_failed"],
            late=late,
            redriven=counted["redriven"],
            errors=dict(errors[labourer_id]),
        )
        if late:
            line["deferred"] = int(line.get("deferred", 0)) + late
    totals: Counter[str] = Counter()
    for line in report.values():
        for key in TOTALLED:
            totals[key] += int(line.get(key, 0))
        totals["set_aside"] += set_aside_count(line)
    summary: dict[str, Any] = {
        "execution": state["run"].get("execution"),
        "start": state["run"]["start"],
        "config": {key: state["config"][key] for key in ("sha256", "labourers") if key in state["config"]},
        "labourers": {labourer_id: compact_line(line) for labourer_id, line in report.items()},
        "totals": dict(totals),
    }
    if "read_units" in state:
        summary["read_units"] = {**state["read_units"], "total": sum(state["read_units"].values())}
    if "lease" in state:
        summary["lease"] = {**state["lease"], "returned": bool(lease_returned and state["lease"]["held"])}
        if lease_error:
            summary["lease"]["error"] = lease_error
    return summary


TOTALLED = (
    "desired",
    "fetched",
    "invoked",
    "unsure",
    "skipped",
    "released",
    "failed",
    "lost",
    "late",
    "redriven",
    "deferred",
)
"""The counts of a report line that ``totals`` adds up (with ``set_aside``)."""


CLAIMED_OUTCOMES = frozenset({"invoked", "unsure", "attempt_failed", "claim_failed", "release_failed"})
"""Outcomes after which the task may still be claimed by the run (sent, maybe sent, failed, or a claim or release
whose answer never came): what the run leaves claimed, for the lease's record (``claims_left``)."""


FINISHED_KEEP_MARGIN_SECONDS = 3600
"""How much longer than twice the longest expiry a finished run's record is kept (``finished_keep_seconds``)."""


def finished_keep_seconds(config: OrchestratorConfig) -> float:
    """How long the lease item keeps a finished run's record: the Scavenger must find it when it finds the run's tasks
    expired (``duration + cooldown`` after the run), so twice the longest expiry of the config's labourers plus an
    hour (a Scavenger paused for longer sees older runs' tasks as unsent: it requeues them without spending the
    attempt, once)."""
    longest = max((labourer.duration + labourer.cooldown for labourer in config.labourers), default=0)
    return 2 * longest + FINISHED_KEEP_MARGIN_SECONDS


def claims_left(results: Sequence[Mapping[str, Any]]) -> ClaimsLeft:
    """What the run may have left claimed, from its groups' ``results`` (``run_groups.read_results``): the lease's
    record for the next holder's running count (``lease.give_back``). Per labourer, the ids of the tasks whose
    outcome leaves them claimed, and every task of a group whose child ended without its outcomes (it may have
    claimed them all)."""
    ids: dict[str, list[str]] = {}
    unknown: dict[str, int] = {}
    for result in results:
        labourer_id = str(result["labourer_id"])
        if result.get("error"):
            ids.setdefault(labourer_id, []).extend(str(task_id) for task_id in result.get("task_ids", ()))
            continue
        claimed = [item for item in result.get("outcomes", []) if item["outcome"] in CLAIMED_OUTCOMES]
        ids.setdefault(labourer_id, []).extend(str(item["task_id"]) for item in claimed if item.get("task_id"))
        unknown[labourer_id] = unknown.get(labourer_id, 0) + sum(1 for item in claimed if not item.get("task_id"))
    return ClaimsLeft(
        ids={lab: task_ids for lab, task_ids in ids.items() if task_ids},
        unknown={lab: count for lab, count in unknown.items() if count > 0},
    )


def _reached(last: Task | None, tail: Task | None) -> bool:
    """Whether a take that stopped at ``last`` read the queue to the ``tail`` read before it (``None``: not known)."""
    return last is not None and tail is not None and last.task_id == tail.task_id


def _read_queues(
    config: OrchestratorConfig, report: dict[str, dict[str, Any]], store: TaskStore, *, start: int, now: float
) -> tuple[dict[str, int], dict[str, Task]]:
    """Every labourer's queue, first (so the budget goes to labourers with tasks to take): its line gains ``queue``
    (left out when empty; ``depth_exact`` only when counted) and ``blocked_by_health``. Returns what each wants
    (``min(desired, depth)``) and each queue's tail as read (positions only)."""
    tails: dict[str, Task] = {}
    wants: dict[str, int] = {}
    for labourer in config.labourers:
        line = report[labourer.id]
        if not health_read(line):  # ComputeEcology found its queue empty, or the run claims nothing: not read again
            wants[labourer.id] = 0
            continue
        read = read_queue(
            store,
            labourer.id,
            start=start,
            now=now,
            step=config.greenfield_task_step,
            exact=config.exact_queue_depth,
        )
        queue = read.report
        line["queue"] = queue_field(queue)
        if _blocked_by_health(config, labourer.max_simultaneous_invocations, line["status"], queue.depth):
            line["blocked_by_health"] = True
        if read.tail is not None:
            tails[labourer.id] = read.tail
        wants[labourer.id] = min(int(line.get("desired", 0)), queue.depth)
    return wants, tails


def _take_more(
    config: OrchestratorConfig,
    report: Mapping[str, Mapping[str, Any]],
    store: TaskStore,
    *,
    takes: dict[str, _Taken],
    tails: Mapping[str, Task],
    budget: dict[str, int],
    limits: run_limits.RunLimits,
    start: int,
) -> None:
    """A queue's depth is an estimate that counts too few when positions are packed (retried tasks put back at the
    head): labourers that got all they were granted, wanted more and did not reach the tail read share what the
    run's limits have left (``takes`` and ``budget`` grow in place)."""
    more = {
        labourer_id: int(report[labourer_id].get("desired", 0)) - len(taken.tasks)
        for labourer_id, taken in takes.items()
        if taken.filled
        and int(report[labourer_id].get("desired", 0)) > len(taken.tasks)
        and not _reached(taken.last, tails.get(labourer_id))
    }
    tasks_taken = sum(len(taken.tasks) for taken in takes.values())
    room = limits.tasks - tasks_taken
    bytes_left = run_limits.run_payload_bytes_most() - sum(taken.payload_bytes for taken in takes.values())
    if not more or room <= 0 or bytes_left <= 0:
        return
    shares = share_budget(more, room, seed=start)
    byte_room = bytes_left // max(sum(1 for extra in shares.values() if extra > 0), 1)
    for labourer_id, extra in shares.items():
        if extra > 0:
            markers = config.markers(labourer_id, start)
            last = takes[labourer_id].last
            takes[labourer_id].extend(_take_tasks(store, labourer_id, extra, markers, after=last, byte_room=byte_room))
            budget[labourer_id] += extra


def _claim_values(config: OrchestratorConfig, run: Mapping[str, Any]) -> dict[str, str]:
    """What every claim of the run writes and checks beside its task: the tasks table, the run's start (a task is
    available below it), the greenfield a claim writes (``invoked``), the run's id (each claim's mark) and its claim
    deadline. The same for every labourer (``invoked`` is ``start + greenfield_invocation_delta``); numbers as
    strings, as DynamoDB's ``N`` takes them."""
    markers = RunMarkers.at(int(run["start"]), duration=0, cooldown=0, delta=config.greenfield_invocation_delta)
    return {
        "table": config.tables.tasks,
        "start": str(markers.start),
        "invoked": str(markers.invoked),
        "run": str(run["id"]),
        "deadline": str(run["claim_deadline"]),
    }


def grant(desired: Mapping[str, int], limits: run_limits.RunLimits, *, seed: int) -> dict[str, int]:
    """``share_budget`` of the run's budget (``limits.tasks``) between the labourers wanting ``desired``."""
    return share_budget(desired, limits.tasks, seed=seed)


def share_budget(
    desired: Mapping[str, int], budget: int, *, most_labourers: int | None = None, seed: int = 0
) -> dict[str, int]:
    """Split ``budget`` tasks between labourers wanting ``desired``: equal shares, leftovers to those wanting more.

    No labourer gets more than it wants; the total never exceeds ``budget``; when everybody's wants fit, everybody
    gets what it wants. At most ``most_labourers`` labourers get tasks (each adds history events). When not all
    can be served in full, the order in which they are served (who gets the leftovers, who is left out) is drawn
    from ``seed``, the run's start, so it changes from run to run and no labourer waits for ever behind the ones
    before it in the config.
    """
    granted = dict.fromkeys(desired, 0)
    remaining = budget
    hungry = [key for key, want in desired.items() if want > 0]
    most = len(hungry) if most_labourers is None else max(most_labourers, 0)
    if len(hungry) > most or sum(desired[key] for key in hungry) > budget:  # not everybody is served in full
        random.Random(seed).shuffle(hungry)
        hungry = hungry[:most]
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


def _blocked_by_health(config: OrchestratorConfig, cap: int, status: int, depth: int) -> bool:
    if not depth or cap <= 0:
        return False
    return desired_invocations(cap, config.coefficient(status), 0) == 0


@dataclass
class _Taken:
    """What ``_take_tasks`` found: the valid ids, the set-aside tasks (listed, then counted), and where it stopped."""

    tasks: list[list[str]] = field(default_factory=list)
    """``task_store.claim_item`` of each: what the Claim state needs of a task."""
    set_aside: list[dict[str, str]] = field(default_factory=list)
    set_aside_more: int = 0
    last: Task | None = None
    """The last task read (valid or set aside): a later take reads on from it."""
    filled: bool = False
    """It took all it was asked for (the queue may hold more)."""
    payload_bytes: int = 0
    """The bytes of the payload texts it holds (``run_limits.RUN_PAYLOAD_BYTES_MOST`` bounds a run's)."""
    cut: int = 0
    """How many of those asked for it left queued because its payload bytes reached its room: deferred."""

    def extend(self, more: _Taken) -> None:
        """Add what a later take, read on from ``last``, found."""
        self.tasks += more.tasks
        self.payload_bytes += more.payload_bytes
        self.cut += more.cut
        listed = more.set_aside[: max(REPORTED_SET_ASIDE - len(self.set_aside), 0)]
        self.set_aside += listed
        self.set_aside_more += more.set_aside_more + len(more.set_aside) - len(listed)
        self.last = more.last or self.last
        self.filled = more.filled


def _take_tasks(
    store: TaskStore,
    labourer_id: str,
    wanted: int,
    markers: RunMarkers,
    *,
    after: Task | None = None,
    byte_room: int | None = None,
) -> _Taken:
    """Up to ``wanted`` valid queued tasks; the invalid ones met on the way are set aside (the first
    ``REPORTED_SET_ASIDE`` listed, the rest counted). ``after``: read on from this task (its position) instead of
    from the queue's head. ``byte_room``: stop once the payload texts taken reach it (at least one task is taken);
    what was asked and not taken then is ``cut`` (deferred to the next run).

    Tasks are read one page at a time (``TaskStore.iter_next_tasks``) and only their claim item is kept (with its
    payload text, which the claim's condition and the invoke use): the step's memory holds the run's payload texts,
    at most ``run_limits.RUN_PAYLOAD_BYTES_MOST``, and one page more."""
    taken = _Taken(last=after)
    full = False
    for _ in range(5):  # each round replaces what the previous one set aside; bounded so a bad queue ends
        asked = wanted - len(taken.tasks)
        if asked <= 0 or full:
            break
        read = 0
        for task in store.iter_next_tasks(labourer_id, asked, start=markers.start, after=taken.last):
            if byte_room is not None and taken.tasks and taken.payload_bytes >= byte_room:
                full = True
                break
            read += 1
            taken.last = task.position()
            problem = stored_task_problem(task)
            if problem is None:
                item = claim_item(task)
                taken.tasks.append(item)
                taken.payload_bytes += len(item[4].encode("utf-8"))
            elif store.archive(task, dead_reason=f"set aside by the Orchestrator: {problem}"):
                if len(taken.set_aside) < REPORTED_SET_ASIDE:
                    taken.set_aside.append({"task_id": task.task_id, "reason": problem})
                else:
                    taken.set_aside_more += 1
        if read < asked and not full:
            break  # the queue has no more
    if full:
        taken.cut = wanted - len(taken.tasks)
    taken.filled = len(taken.tasks) >= wanted
    return taken
