"""What one Orchestrator run may take on, so that it never fails at a Step Functions limit.

A run's tasks travel in no state of the Orchestrator or of its Invocations execution: FetchGreenfieldTasks writes them
to S3 in groups, and the Invocations execution's Distributed Map gives each group to a child workflow execution of
its own (Express: no history limit, at most 5 minutes, 256 KiB a state). So:

- the run-wide states hold the report (a line per labourer) and never the tasks: ``config_problems`` refuses a config
  whose report alone could pass their limit, ``config_warnings`` warns near it;
- ``max_tasks_per_execution`` (``task_budget``) is shared fairly between the labourers (``run.share_budget``), and so
  are ``RUN_PAYLOAD_BYTES_MOST`` bytes of payload text (the fetch holds the run's payloads until it writes them);
- each group is one labourer's tasks, at most ``GROUP_TASKS_MOST`` of them, and few enough that the child's largest
  state (its InvokeTasks output, which holds the group's claim items *and* their outcomes side by side) stays within
  ``INVOKE_TASKS_BYTES_TARGET`` counting every outcome at its longest (``split_groups``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from foreman_core.config import OrchestratorConfig

STATE_BYTES_LIMIT = 262_144
"""The most bytes of one state (its input or output): Step Functions fails the execution above it, uncatchably."""

STATE_BYTES_TARGET = 200_000
"""What a run keeps its run-wide states (the report, the config's reference, the run, the lease) within: about 76%
of the limit."""

ERROR_NAME_MOST = 64
"""The longest error name an outcome carries (the longest AWS names, e.g.
``DynamoDB.ItemCollectionSizeLimitExceededException``, have 50 characters)."""

OUTCOME_BYTES_MOST = len('{"task_id":"","outcome":"release_failed","error":""},') + ERROR_NAME_MOST
"""The longest outcome of one task beside its id: a failed release, with an error name of up to 64 characters."""

INVOKE_TASKS_BYTES_TARGET = 250_000
"""What ``split_groups`` keeps each child's InvokeTasks output within: 95% of the limit. That state holds nothing but
its group (the labourer's id and ARN, the run's markers and table) and the group's claim items and outcomes, all
counted, every outcome at its longest and in the longer of the two JSON forms (with a space after each ``:`` and
``,``, as the embedded stack writes states), so it needs less margin than the run-wide states."""

INVOKE_TASKS_FIXED = (
    len(
        '{"labourer_id": "", "arn": "", "concurrency": 40, "start": "", "invoked": "", "table": "", "run": "", '
        '"deadline": "", "redrive_count": 0, "tasks": [], "outcomes": []}'
    )
    + 5 * 40
    + 255
)
"""A child's InvokeTasks output beside its labourer's id, ARN, tasks and outcomes: the keys, the run's markers, id
and deadline (at most 40 characters each) and the tasks table's name (at most 255)."""

GROUP_TASKS_MOST = 1_000
"""The most tasks of one group (one child workflow execution): at the embedded stack's pace a child of this size
claims and invokes within a minute at a Map concurrency of 40, far inside the claim window and an Express child's 5
minutes, whatever the task ids' length (the bytes bound the group first with ids over about 60 characters).
``FOREMAN_GROUP_TASKS`` in the environment lowers it (tests: a run crossing several children)."""

RUN_PAYLOAD_BYTES_MOST = 128 * 1024 * 1024
"""The most bytes of payload text one run takes (its claims carry the payloads, so FetchGreenfieldTasks holds them
until it writes the groups to S3, and Summarize reads the children's results, which hold each child's input: 128 MiB,
about three times that in each step's 2,048 MB with the JSON and boto3's copies). Each busy labourer gets an equal
share first; what does not fit is deferred to the next run. It binds before the 100,000-task ceiling only with
payloads over about 1.3 KB (100,000 tasks of 1.3 KB: 130 MB). ``FOREMAN_RUN_PAYLOAD_BYTES`` in the environment lowers
it (tests)."""

STATE_BYTES_FIXED = 2_048
"""The run, the config's reference, the tables, the lease and the keys around them."""


def json_bytes(value: Any) -> int:
    """The bytes of ``value`` as compact JSON in UTF-8, as Step Functions measures a state."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _lowered(variable: str, most: int) -> int:
    """``most``, or the lower value of environment variable ``variable`` (at least 1): a test's smaller bound."""
    lowered = os.environ.get(variable)
    return max(min(int(lowered), most), 1) if lowered else most


def group_tasks_most() -> int:
    """``GROUP_TASKS_MOST``, or the lower ``FOREMAN_GROUP_TASKS`` of the environment (at least 1)."""
    return _lowered("FOREMAN_GROUP_TASKS", GROUP_TASKS_MOST)


def run_payload_bytes_most() -> int:
    """``RUN_PAYLOAD_BYTES_MOST``, or the lower ``FOREMAN_RUN_PAYLOAD_BYTES`` of the environment (at least 1)."""
    return _lowered("FOREMAN_RUN_PAYLOAD_BYTES", RUN_PAYLOAD_BYTES_MOST)


@dataclass(frozen=True)
class RunLimits:
    """The limits of one run: ``tasks``, its budget (``max_tasks_per_execution``)."""

    tasks: int

    @classmethod
    def of(cls, max_tasks_per_execution: int) -> RunLimits:
        """The limits of a run with this budget."""
        return cls(tasks=max_tasks_per_execution)


def split_groups(invocations: Sequence[Mapping[str, Any]], *, most: int | None = None) -> list[dict[str, Any]]:
    """``invocations`` (each busy labourer's entry with all its tasks) as groups, one child workflow execution's
    share each: consecutive runs of one labourer's tasks (in queue order), each of at most ``most`` tasks (default
    ``group_tasks_most()``) and with its InvokeTasks output at its largest within ``INVOKE_TASKS_BYTES_TARGET``.
    Each group keeps its labourer's fields (``labourer_id``, ``arn``, ``concurrency``); no task is dropped."""
    most = group_tasks_most() if most is None else max(most, 1)
    groups: list[dict[str, Any]] = []
    for entry in invocations:
        fields = {key: value for key, value in entry.items() if key != "tasks"}
        own = INVOKE_TASKS_FIXED + _spaced_bytes(entry["labourer_id"]) + _spaced_bytes(entry["arn"])
        current: list[Any] = []
        size = own
        for task in entry["tasks"]:
            more = _inner_task_bytes(task)
            if current and (len(current) >= most or size + more > INVOKE_TASKS_BYTES_TARGET):
                groups.append({**fields, "tasks": current})
                current, size = [], own
            current.append(task)
            size += more
        if current:
            groups.append({**fields, "tasks": current})
    return groups


def invoke_tasks_bytes_estimate(entry: Mapping[str, Any]) -> int:
    """One group's InvokeTasks output (its claim items and their outcomes) at its largest, as ``split_groups``
    estimates it: kept within ``INVOKE_TASKS_BYTES_TARGET``."""
    own = INVOKE_TASKS_FIXED + _spaced_bytes(entry["labourer_id"]) + _spaced_bytes(entry["arn"])
    return own + sum(_inner_task_bytes(task) for task in entry["tasks"])


_LONGEST_ERROR = "E" * ERROR_NAME_MOST


def _inner_task_bytes(task: Sequence[str]) -> int:
    """A task in its group's InvokeTasks output: its claim item *and* its outcome at its longest, each with its
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
counts bounded by its cap (running, desired, deferred), before Summarize adds its tasks' outcome counts."""

TASKS_ROOM = 10_000
"""What a config must leave of ``STATE_BYTES_TARGET`` when every labourer has tasks queued and its line is at its
longest: room for what Summarize adds (each busy labourer's outcome counts and error names)."""

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
    leave less than ``TASKS_ROOM`` of ``STATE_BYTES_TARGET`` for what Summarize adds (a state above 256 KiB fails
    the execution, uncatchably). LoadConfig and ``foreman config validate`` refuse it."""
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
            "state within for the run's outcomes (Step Functions fails an execution whose state passes 256 KiB); "
            "at most "
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
        warnings.append(
            (
                "task_config.labourers",
                f"{labourers:,} labourers: when all have tasks queued their report lines take up to {most:,} of the "
                f"{STATE_BYTES_TARGET:,} bytes a run keeps its state within (its tasks travel in S3, not in the "
                "state): a few more labourers and the config is refused",
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
    return warnings
