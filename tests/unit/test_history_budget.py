"""The task budget is sized from the worst case per task, counted from the real state machine definition."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from foreman_core.history_budget import (
    DEFAULT_MAX_TASKS_PER_EXECUTION,
    EVENTS_PER_LABOURER,
    EVENTS_PER_RUN,
    EVENTS_PER_TASK,
    HISTORY_EVENT_LIMIT,
    max_tasks_per_execution,
    worst_case_events,
)

ASL = json.loads((Path(__file__).resolve().parents[2] / "statemachine" / "orchestrator.asl.json").read_text())
DEFAULT_RETRIES = 3  # ASL's MaxAttempts when a retrier omits it


def state_events(state: dict[str, Any]) -> int:
    """The most history events one state adds (not counting what a Map's iterations add)."""
    if state["Type"] == "Task":
        retries = sum(retrier.get("MaxAttempts", DEFAULT_RETRIES) for retrier in state.get("Retry", []))
        return 2 + 3 * (1 + retries)  # entered, exited; scheduled, started, succeeded/failed per attempt
    if state["Type"] == "Map":
        return 4  # entered, started, succeeded/failed, exited
    return 2  # Pass, Choice, Succeed: entered, exited


def worst_path(states: dict[str, Any], start: str) -> int:
    """The most events along any path from ``start`` to an end (Next, Catch and Choice edges)."""

    @cache
    def longest(name: str) -> int:
        state = states[name]
        successors = [state.get("Next"), state.get("Default")]
        successors += [catcher["Next"] for catcher in state.get("Catch", [])]
        successors += [choice["Next"] for choice in state.get("Choices", [])]
        return state_events(state) + max((longest(n) for n in successors if n), default=0)

    return longest(start)


def test_the_event_counts_are_the_state_machines_own() -> None:
    labourer = ASL["States"]["InvokeLabourers"]["ItemProcessor"]
    task = labourer["States"]["InvokeTasks"]["ItemProcessor"]
    iteration = 2  # MapIterationStarted, MapIterationSucceeded/Failed

    assert worst_path(task["States"], task["StartAt"]) + iteration == EVENTS_PER_TASK
    assert worst_path(labourer["States"], labourer["StartAt"]) + iteration == EVENTS_PER_LABOURER
    assert worst_path(ASL["States"], ASL["StartAt"]) + 2 == EVENTS_PER_RUN  # ExecutionStarted, ExecutionSucceeded


def test_the_default_budget_survives_the_worst_case_with_room_for_many_labourers() -> None:
    assert worst_case_events(DEFAULT_MAX_TASKS_PER_EXECUTION, 189) <= HISTORY_EVENT_LIMIT
    assert max_tasks_per_execution(189) >= DEFAULT_MAX_TASKS_PER_EXECUTION
    # The former default (1000, sized from the happy path's ~12.7 events per task) fails under throttling.
    assert worst_case_events(1000, 1) > HISTORY_EVENT_LIMIT


def test_a_budget_over_the_worst_case_is_refused_with_its_path_and_the_most_allowed() -> None:
    import pytest

    from foreman_core.config import ConfigError, parse_config

    labourers = {"labourers": {f"w{n}": {"arn": f"w{n}"} for n in range(10)}}
    with pytest.raises(ConfigError) as refused:
        parse_config({"task_config": labourers, "max_tasks_per_execution": 1000})

    ((path, reason),) = refused.value.problems
    assert path == "max_tasks_per_execution"
    assert reason.startswith(f"at most {max_tasks_per_execution(1)} (OrchestratorType STANDARD), got 1000")
    assert parse_config({"task_config": labourers}).max_tasks_per_execution == DEFAULT_MAX_TASKS_PER_EXECUTION


def test_an_express_orchestrator_has_no_history_limit_but_a_state_size_bound() -> None:
    import pytest

    from foreman_core import task_budget
    from foreman_core.config import ConfigError, parse_config

    labourers = {"labourers": {f"w{n}": {"arn": f"w{n}"} for n in range(10)}}
    express = "EXPRESS"
    # the default is higher than Standard's, and a budget Standard's history refuses is allowed
    assert parse_config({"task_config": labourers}, orchestrator_type=express).max_tasks_per_execution == 1000
    assert task_budget.EXPRESS_DEFAULT_TASKS > DEFAULT_MAX_TASKS_PER_EXECUTION
    assert parse_config({"task_config": labourers, "max_tasks_per_execution": 1200}, orchestrator_type=express)
    # but not above what the 256 KiB state holds
    with pytest.raises(ConfigError) as refused:
        parse_config({"task_config": labourers, "max_tasks_per_execution": 1251}, orchestrator_type=express)
    ((path, reason),) = refused.value.problems
    assert path == "max_tasks_per_execution"
    assert reason.startswith("at most 1250 (OrchestratorType EXPRESS), got 1251")
    assert "256 KiB" in reason


def test_the_orchestrator_type_from_the_environment_is_checked() -> None:
    import pytest

    from foreman_core import task_budget

    assert task_budget.checked_type(None) == "STANDARD"
    assert task_budget.checked_type("express") == "EXPRESS"
    with pytest.raises(ValueError, match="ORCHESTRATOR_TYPE: expected STANDARD or EXPRESS, got 'FAST'"):
        task_budget.checked_type("FAST")
