"""How many tasks one Orchestrator execution may take without reaching Step Functions' 25,000-event history limit.

An execution that reaches the limit fails (``States.Runtime``) wherever it is: claims made and not yet invoked stay
claimed until they expire. So the budget (``max_tasks_per_execution``) is sized from the worst case per task, not
the happy path (about 12 events): every Claim retried to its last attempt, every Invoke throttled to its last
attempt and then released, every Release retried to its last attempt. The numbers below are counted from
``statemachine/orchestrator.asl.json`` (a unit test recounts them from the file, so they cannot drift apart).
"""

from __future__ import annotations

HISTORY_EVENT_LIMIT = 25_000
"""The most events a Standard execution's history holds; the last one is then its failure."""

EVENTS_PER_TASK = 54
"""The most events one task can add: its InvokeTasks iteration (2), ClaimWindow (2), Claim with 4 retries (17),
Invoke with 3 retries (14), Release with 4 retries (17) and the outcome Pass state (2). A Task state adds entered +
exited, and scheduled + started + succeeded/failed for each attempt."""

EVENTS_PER_LABOURER = 8
"""Each labourer's InvokeLabourers iteration (2), its InvokeTasks Map (4) and LabourerDone or LabourerFailed (2)."""

EVENTS_PER_RUN = 63
"""The execution's start and end (2), LoadConfig, ComputeEcology and FetchGreenfieldTasks with all their retries
(3 x 14), then either the InvokeLabourers Map (4) and Summarize (14), or ReturnLeaseAfterFailure with all its retries
(17) and RunFailed (2)."""

DEFAULT_MAX_TASKS_PER_EXECUTION = 430
"""The default budget: 430 x 54 + 63 events leave room for 189 busy labourers within 25,000 (a run with more
busy labourers than fit defers some to the next run: ``run_limits``)."""


def max_tasks_per_execution(labourers: int) -> int:
    """The largest budget whose worst case stays within the history limit when ``labourers`` labourers get tasks."""
    room = HISTORY_EVENT_LIMIT - EVENTS_PER_RUN - EVENTS_PER_LABOURER * labourers
    return max(room // EVENTS_PER_TASK, 0)


def worst_case_events(tasks: int, labourers: int) -> int:
    """The most history events a run of ``tasks`` tasks over ``labourers`` labourers can produce."""
    return EVENTS_PER_RUN + EVENTS_PER_LABOURER * labourers + EVENTS_PER_TASK * tasks
