"""What one Orchestrator run may take on, so that it never fails at a Step Functions limit: it takes what fits and
reports the rest as deferred to the next run (``run.fetch_greenfield_tasks``).

Three limits bind a run:

- ``max_tasks_per_execution``, the config's budget (``task_budget``: its default and bound per workflow type);
- on a Standard workflow, the 25,000 events of an execution's history: each labourer that gets tasks adds its
  InvokeLabourers iteration, each task its claim, invoke and release with every retry (``history_budget``). Only
  labourers with tasks enter the Map, so an idle labourer costs nothing; many busy labourers with one task each
  cost more than a few with many, so the number of busy labourers is bounded as well;
- on both types, the 256 KiB of one state. Three states grow with the tasks: FetchGreenfieldTasks' output (every
  labourer's report line and every task's claim item), InvokeLabourers' output (the same with each claim item
  replaced by the task's outcome), and, inside the Map, each labourer's InvokeTasks output, which holds that
  labourer's claim items *and* their outcomes side by side (its ``ResultPath`` adds the outcomes to its input).
  ``trim`` measures all three from the task ids and the report as they are, with every outcome at its longest (a
  release that failed, with its error's name): the first two within ``STATE_BYTES_TARGET``, each InvokeTasks
  output within ``INVOKE_TASKS_BYTES_TARGET``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from foreman_core import task_budget
from foreman_core.config import OrchestratorConfig
from foreman_core.history_budget import EVENTS_PER_LABOURER, EVENTS_PER_RUN, EVENTS_PER_TASK, HISTORY_EVENT_LIMIT

STATE_BYTES_LIMIT = 262_144
"""The most bytes of one state (its input or output): Step Functions fails the execution above it, uncatchably."""

STATE_BYTES_TARGET = 200_000
"""What ``trim`` keeps InvokeLabourers' output within: about 76% of the limit, the rest a margin for what the
estimate leaves out (the lease, the error's cause of a failed labourer)."""

ERROR_NAME_MOST = 64
"""The longest error name an outcome carries (the longest AWS names, e.g.
``DynamoDB.ItemCollectionSizeLimitExceededException``, have 50 characters)."""

OUTCOME_BYTES_MOST = len('{"task_id":"","outcome":"release_failed","error":""},') + ERROR_NAME_MOST
"""The longest outcome of one task beside its id: a failed release, with an error name of up to 64 characters."""

INVOKE_TASKS_BYTES_TARGET = 250_000
"""What ``trim`` keeps each labourer's InvokeTasks output within: 95% of the limit. That state holds nothing but its
labourer's entry (id, ARN, the run's markers and table) and its tasks' claim items and outcomes, all counted, every
outcome at its longest and in the longer of the two JSON forms (with a space after each ``:`` and ``,``, as the
embedded stack writes states), so it needs less margin than the run-wide states."""

INVOKE_TASKS_FIXED = (
    len(
        '{"labourer_id": "", "arn": "", "concurrency": 40, "start": "", "invoked": "", "table": "", '
        '"tasks": [], "outcomes": []}'
    )
    + 3 * 24
    + 255
)
"""InvokeTasks' output beside its labourer's id, ARN, tasks and outcomes: the keys, the run's two markers (at most
24 characters each) and the tasks table's name (at most 255)."""

INVOCATION_BYTES = len('{"labourer_id":"","arn":"","concurrency":40,"tasks":[]},')
"""A busy labourer's entry in ``invocations`` beside its id, ARN and tasks (longer than its entry in the Map's
result, which replaces it)."""

STATE_BYTES_FIXED = 2_048
"""The run, the config's reference, the tables, the lease and the keys around them."""


def json_bytes(value: Any) -> int:
    """The bytes of ``value`` as compact JSON in UTF-8, as Step Functions measures a state."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


@dataclass(frozen=True)
class RunLimits:
    """The limits of one run: ``tasks`` (the budget) and, on Standard, the history's events."""

    tasks: int
    history_events: int | None
    """``None`` on Express, which keeps no history."""

    @classmethod
    def of(cls, orchestrator_type: str, max_tasks_per_execution: int) -> RunLimits:
        """The limits of a run of this workflow type with this budget."""
        events = None if orchestrator_type == task_budget.EXPRESS else HISTORY_EVENT_LIMIT
        return cls(tasks=max_tasks_per_execution, history_events=events)

    def fits_history(self, tasks: int, labourers: int) -> bool:
        """Whether ``tasks`` tasks over ``labourers`` busy labourers stay within the history at their worst."""
        if self.history_events is None:
            return True
        worst = EVENTS_PER_RUN + EVENTS_PER_LABOURER * labourers + EVENTS_PER_TASK * tasks
        return worst <= self.history_events

    def most_tasks(self, labourers: int) -> int:
        """The most tasks ``labourers`` busy labourers may take within the history at its worst (the budget on
        Express, which keeps no history)."""
        if self.history_events is None:
            return self.tasks
        return max((self.history_events - EVENTS_PER_RUN - EVENTS_PER_LABOURER * labourers) // EVENTS_PER_TASK, 0)

    def trim(self, invocations: list[dict[str, Any]], *, report_bytes: int) -> list[dict[str, Any]]:
        """``invocations`` (FetchGreenfieldTasks' busy labourers with their tasks) cut so that FetchGreenfieldTasks'
        and InvokeLabourers' outputs stay within ``STATE_BYTES_TARGET`` beside a report of ``report_bytes``, and each
        labourer's InvokeTasks output within ``INVOKE_TASKS_BYTES_TARGET``: tasks are dropped from the end of the
        labourer whose InvokeTasks output is over, else from the end of the longest lists (they stay queued,
        unclaimed); labourers left with none are dropped. Changes ``invocations`` and its lists in place, and
        returns it."""
        room = STATE_BYTES_TARGET - STATE_BYTES_FIXED - report_bytes
        sizes = [_invocation_bytes(entry) for entry in invocations]
        inner = [_invoke_tasks_bytes(entry) for entry in invocations]
        total = sum(sizes)
        while invocations:
            over = [index for index, size in enumerate(inner) if size > INVOKE_TASKS_BYTES_TARGET]
            if over:
                index = max(over, key=lambda at: inner[at])
            elif total > room:
                index = max(range(len(invocations)), key=lambda at: len(invocations[at]["tasks"]))
            else:
                break
            entry = invocations[index]
            task = entry["tasks"].pop()
            dropped = _task_bytes(task)
            total -= dropped
            sizes[index] -= dropped
            inner[index] -= _inner_task_bytes(task)
            if not entry["tasks"]:  # what is left of it is its own entry
                total -= sizes.pop(index)
                inner.pop(index)
                invocations.pop(index)
        return invocations


def state_bytes_estimate(invocations: Sequence[Mapping[str, Any]], report_bytes: int) -> int:
    """FetchGreenfieldTasks' or InvokeLabourers' output (the larger) at its largest, as ``trim`` estimates it."""
    return STATE_BYTES_FIXED + report_bytes + sum(_invocation_bytes(entry) for entry in invocations)


def invoke_tasks_bytes_estimate(entry: Mapping[str, Any]) -> int:
    """One labourer's InvokeTasks output (its claim items and their outcomes) at its largest, as ``trim`` estimates
    it: to be kept within ``INVOKE_TASKS_BYTES_TARGET``."""
    return _invoke_tasks_bytes(entry)


def _invocation_bytes(entry: Mapping[str, Any]) -> int:
    own = INVOCATION_BYTES + json_bytes(entry["labourer_id"]) + json_bytes(entry["arn"])
    return own + sum(_task_bytes(task) for task in entry["tasks"])


def _task_bytes(task: Sequence[str]) -> int:
    """A task's claim item in ``invocations`` or, after InvokeLabourers, its outcome at its longest: the states
    outside the Map hold one or the other."""
    return max(json_bytes(list(task)) + 1, json_bytes(task[0]) + OUTCOME_BYTES_MOST)


def _invoke_tasks_bytes(entry: Mapping[str, Any]) -> int:
    own = INVOKE_TASKS_FIXED + _spaced_bytes(entry["labourer_id"]) + _spaced_bytes(entry["arn"])
    return own + sum(_inner_task_bytes(task) for task in entry["tasks"])


_LONGEST_ERROR = "E" * ERROR_NAME_MOST


def _inner_task_bytes(task: Sequence[str]) -> int:
    """A task in its labourer's InvokeTasks output: its claim item *and* its outcome at its longest, each with its
    separator, in the spaced JSON form."""
    outcome = {"task_id": task[0], "outcome": "release_failed", "error": _LONGEST_ERROR}
    return _spaced_bytes(list(task)) + 2 + _spaced_bytes(outcome) + 2


def _spaced_bytes(value: Any) -> int:
    """The bytes of ``value`` as JSON with a space after each ``:`` and ``,`` (UTF-8): never fewer than compact."""
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


REPORT_LINE_BYTES_MOST = len(
    '"":{"status":0,"running":,"desired":,"set_by":"","deferred":,"blocked_by_health":true,'
    '"queue":{"depth":10000000,"oldest_age_seconds":1000000.0}},'
)
"""A labourer's report line at its longest beside its id, the name of the metric that set its status and its three
counts bounded by its cap (running, desired, deferred), before its tasks' outcomes (which ``trim`` counts with the
tasks: ``OUTCOME_BYTES_MOST``)."""

TASKS_ROOM = 10_000
"""What a config must leave of ``STATE_BYTES_TARGET`` for the tasks of a run (about 60 with 36-character ids, every
outcome at its longest) when every labourer has tasks queued and its line is at its longest."""

LABOURER_ARNS_PARAMETER_BYTES = 4_096
"""The most a CloudFormation parameter value holds: the template's ``LabourerArns`` (comma-separated)."""

QUERIES_PER_LABOURER = 3
"""DynamoDB queries a run makes per labourer, one after the other: ComputeEcology counts its running tasks,
FetchGreenfieldTasks reads its queue's two ends (one for an empty queue), and reads its tasks when it has some."""

MANY_QUERIES = 3_000
"""From this many queries a run (``QUERIES_PER_LABOURER`` per labourer), ComputeEcology and FetchGreenfieldTasks
spend a good part of their 60 s (about 5-10 ms a query on AWS): split the labourers over two deployments."""


def report_bytes_most(config: OrchestratorConfig) -> int:
    """The report's bytes in a run where every labourer has tasks queued, each line at its longest."""
    return sum(
        REPORT_LINE_BYTES_MOST
        + json_bytes(labourer.id)
        + max((json_bytes(metric.name) for metric in labourer.health_metrics), default=0)
        + 3 * len(str(max(labourer.max_simultaneous_invocations, 1) * 2))  # running may pass the cap a little
        for labourer in config.labourers
    )


def config_problems(config: OrchestratorConfig) -> list[tuple[str, str]]:
    """``(path, reason)`` for a config a run could not hold: when every labourer has tasks queued, the report would
    leave less than ``TASKS_ROOM`` of ``STATE_BYTES_TARGET`` for the tasks (a state above 256 KiB fails the
    execution, uncatchably). LoadConfig and ``foreman config validate`` refuse it."""
    most = report_bytes_most(config)
    room = STATE_BYTES_TARGET - STATE_BYTES_FIXED - TASKS_ROOM
    if most <= room:
        return []
    fit = room // max(most // max(len(config.labourers), 1), 1)
    return [
        (
            "task_config.labourers",
            f"{len(config.labourers):,} labourers: when all have tasks queued their report lines take up to "
            f"{most:,} bytes, which leaves less than {TASKS_ROOM:,} of the {STATE_BYTES_TARGET:,} a run keeps its "
            "state within for its tasks (Step Functions fails an execution whose state passes 256 KiB); at most "
            f"about {fit:,} labourers like these fit one deployment: split them over several",
        )
    ]


def config_warnings(config: OrchestratorConfig, orchestrator_type: str) -> list[tuple[str, str]]:
    """``(path, warning)`` for each limit the config comes near, naming it: the state's bytes (the report's share
    when every labourer has tasks queued), the queries a run makes, ``LabourerArns``' 4,096 bytes."""
    warnings = []
    labourers = len(config.labourers)
    most = report_bytes_most(config)
    if STATE_BYTES_TARGET // 2 < most <= STATE_BYTES_TARGET - STATE_BYTES_FIXED - TASKS_ROOM:
        room = STATE_BYTES_TARGET - STATE_BYTES_FIXED - most
        tasks = room // (INVOCATION_BYTES + 200)
        warnings.append(
            (
                "task_config.labourers",
                f"{labourers:,} labourers: when all have tasks queued their report lines take up to {most:,} of the "
                f"{STATE_BYTES_TARGET:,} bytes a run keeps its state within, leaving room for about {tasks:,} tasks "
                "a run (the rest are deferred to the next run)",
            )
        )
    if labourers * QUERIES_PER_LABOURER >= MANY_QUERIES:
        warnings.append(
            (
                "task_config.labourers",
                f"{labourers:,} labourers: a run makes up to {labourers * QUERIES_PER_LABOURER:,} DynamoDB queries, "
                "one after the other, in ComputeEcology and FetchGreenfieldTasks (60 s each): about 5-10 ms each on "
                "AWS; watch their Duration, or split the labourers over two deployments",
            )
        )
    arns = sorted({labourer.arn for labourer in config.labourers})
    joined = len(",".join(arns))
    if joined > LABOURER_ARNS_PARAMETER_BYTES * 3 // 4:
        warnings.append(
            (
                "task_config.labourers",
                f"{len(arns):,} distinct labourer ARNs take {joined:,} bytes joined: the template's LabourerArns "
                f"parameter holds {LABOURER_ARNS_PARAMETER_BYTES:,}; name the labourers with a common prefix and "
                "allow them with one pattern (arn:aws:lambda:REGION:ACCOUNT:function:PREFIX*)",
            )
        )
    if orchestrator_type != task_budget.EXPRESS:
        busy = max_busy_labourers(config.max_tasks_per_execution)
        if labourers > busy:
            warnings.append(
                (
                    "max_tasks_per_execution",
                    f"a run of {config.max_tasks_per_execution} tasks has room in its history for {busy} labourers "
                    f"with tasks at their worst case; with more of your {labourers:,} labourers busy at once, some "
                    "are deferred to the next run (fairly, in a different order each run)",
                )
            )
    return warnings


def max_busy_labourers(tasks: int) -> int:
    """How many labourers may get tasks in a Standard run of ``tasks`` tasks, everything retried."""
    return max((HISTORY_EVENT_LIMIT - EVENTS_PER_RUN - EVENTS_PER_TASK * tasks) // EVENTS_PER_LABOURER, 0)
