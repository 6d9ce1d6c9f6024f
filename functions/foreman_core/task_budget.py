"""How many tasks one Orchestrator execution may take (``max_tasks_per_execution``): its default and its bound, per
workflow type (the template's ``OrchestratorType``, which LoadConfig reads as ``ORCHESTRATOR_TYPE``).

- **STANDARD**: bounded by the 25,000-event execution history, from the worst case per task (``history_budget``).
- **EXPRESS**: has no history limit. It is bounded by the 256 KiB of a state and by its 5 minutes. The state that
  grows with the tasks is InvokeLabourers' output (every task's claim item and its outcome, beside the fetched
  items): measured on the embedded stack at about 122 bytes per task with Foreman's 32-character task ids (2,000
  tasks: 244,041 bytes, 93% of 256 KiB = 262,144, since the claim carries the greenfield and attempts it was fetched
  with). InvokeLabourers' result now replaces the claim items, and a run keeps its largest state within
  ``run_limits.STATE_BYTES_TARGET`` (200,000 bytes) counting every outcome at its longest (a failed release naming
  its error): about 151 bytes a task with Foreman's ids, 155 with sosw's 36-character ones. So at most
  ``EXPRESS_MOST_TASKS`` = 1,250 tasks (about 194,000 bytes at that worst case), so that a run at the bound
  spread over labourers is not cut by ``run_limits.trim``. One labourer's share is bounded further by its
  InvokeTasks output, which holds its claim items beside their outcomes (``run_limits.INVOKE_TASKS_BYTES_TARGET``):
  about 1,170 tasks with 32-character ids at their worst, the rest deferred. Time does not bind first: the
  embedded stack, slower than AWS, billed 40-71 s of the 300 for 2,000 tasks at a Map concurrency of 40. The
  default, ``EXPRESS_DEFAULT_TASKS`` = 1,000, keeps over half of the state free. docs/cost.md has the figures.
"""

from __future__ import annotations

from foreman_core.history_budget import (
    DEFAULT_MAX_TASKS_PER_EXECUTION,
    EVENTS_PER_TASK,
    HISTORY_EVENT_LIMIT,
    max_tasks_per_execution,
)

STANDARD = "STANDARD"
EXPRESS = "EXPRESS"
ORCHESTRATOR_TYPES = (STANDARD, EXPRESS)

EXPRESS_MOST_TASKS = 1250
"""The most tasks an Express run may take: its largest state, every outcome at its longest (about 155 bytes a
task), stays within the 200,000 bytes a run keeps its state to (``run_limits.STATE_BYTES_TARGET``)."""
EXPRESS_DEFAULT_TASKS = 1000
"""An Express run's default budget: half the state left free."""


def most_tasks(orchestrator_type: str) -> int:
    """The largest ``max_tasks_per_execution`` a config may set for this type, whatever its number of labourers:
    on Standard, what one busy labourer's worst case leaves room for. Only labourers with tasks enter a run's Map,
    and each run keeps its busy labourers within the history (``run_limits``), deferring the rest."""
    if orchestrator_type == EXPRESS:
        return EXPRESS_MOST_TASKS
    return max_tasks_per_execution(1)


def default_tasks(orchestrator_type: str) -> int:
    """``max_tasks_per_execution`` when the config sets none."""
    return EXPRESS_DEFAULT_TASKS if orchestrator_type == EXPRESS else DEFAULT_MAX_TASKS_PER_EXECUTION


def why_bounded(orchestrator_type: str) -> str:
    """What the bound protects, for the error a config above it gets."""
    if orchestrator_type == EXPRESS:
        return (
            "an Express run carries every task's outcome in one state, up to about 155 bytes a task, "
            "and a run keeps a state within 200,000 of the 256 KiB it may hold"
        )
    return (
        f"a task can add {EVENTS_PER_TASK} events to the execution's history (every claim, invoke and release "
        f"retried) and an execution fails at {HISTORY_EVENT_LIMIT:,}"
    )


def checked_type(value: str | None) -> str:
    """The workflow type named by ``value`` (``ORCHESTRATOR_TYPE``; unset means STANDARD); ValueError otherwise."""
    orchestrator_type = (value or STANDARD).upper()
    if orchestrator_type not in ORCHESTRATOR_TYPES:
        raise ValueError(f"ORCHESTRATOR_TYPE: expected STANDARD or EXPRESS, got {value!r}")
    return orchestrator_type
