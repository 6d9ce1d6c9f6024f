"""How many tasks one Orchestrator run may take (``max_tasks_per_execution``): its default and its bound.

A run's tasks never travel in a state of the Orchestrator or of its Invocations execution: FetchGreenfieldTasks
writes them to S3 in groups (``run_limits.split_groups``), and the Invocations execution's Distributed Map gives each
group to a child workflow execution of its own (``statemachine/invocations.asl.json``). Neither execution's history
nor its largest state grows with the tasks, so no Step Functions limit bounds a run; each child's share is bounded
by the child's own limits (``run_limits``). What bounds a run is time: FetchGreenfieldTasks reads every task it
takes (pages of 100) and writes them in its 120 s, and every claim must start within the run's claim window
(``run_clock.CLAIM_WINDOW_SECONDS``). ``MOST_TASKS`` is what one run is built and tested for; the Throughput page
(docs/throughput.md) works out what AWS's quotas let a deployment start a minute. The budget is the same for both
workflow types (the template's ``OrchestratorType``): the Invocations execution is Standard in both.
"""

from __future__ import annotations

STANDARD = "STANDARD"
EXPRESS = "EXPRESS"
ORCHESTRATOR_TYPES = (STANDARD, EXPRESS)

MOST_TASKS = 100_000
"""The most tasks a run may take: 1,000 pages of the queues read and written to S3 by FetchGreenfieldTasks, and at
least 100 children (``run_limits.GROUP_TASKS_MOST`` tasks each) claiming within the claim window."""
DEFAULT_TASKS = MOST_TASKS
"""A run's default budget: everything the caps and the ecology allow, up to ``MOST_TASKS``; a config may set a
lower ceiling."""


def most_tasks(orchestrator_type: str) -> int:
    """The largest ``max_tasks_per_execution`` a config may set (the same for both workflow types)."""
    checked_type(orchestrator_type)
    return MOST_TASKS


def default_tasks(orchestrator_type: str) -> int:
    """``max_tasks_per_execution`` when the config sets none."""
    checked_type(orchestrator_type)
    return DEFAULT_TASKS


def why_bounded(orchestrator_type: str) -> str:
    """What the bound protects, for the error a config above it gets."""
    return (
        "FetchGreenfieldTasks reads every task a run takes and writes it to S3 within its 120 s, and every claim "
        "starts within the run's claim window"
    )


def checked_type(value: str | None) -> str:
    """The workflow type named by ``value`` (``ORCHESTRATOR_TYPE``; unset means STANDARD); ValueError otherwise."""
    orchestrator_type = (value or STANDARD).upper()
    if orchestrator_type not in ORCHESTRATOR_TYPES:
        raise ValueError(f"ORCHESTRATOR_TYPE: expected STANDARD or EXPRESS, got {value!r}")
    return orchestrator_type
