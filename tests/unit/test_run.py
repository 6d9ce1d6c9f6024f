"""The run's pure parts: sharing the task budget fairly between labourers within the run's limits, keeping the state
within its bytes, and the summary report."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foreman_core import task_budget
from foreman_core.history_budget import EVENTS_PER_LABOURER, EVENTS_PER_RUN, EVENTS_PER_TASK, HISTORY_EVENT_LIMIT
from foreman_core.lease import ClaimsLeft
from foreman_core.report_line import compact_line, line_value
from foreman_core.run import REPORTED_CAUSE_CHARS, claims_left, grant, share_budget, summarize
from foreman_core.run_limits import (
    INVOKE_TASKS_BYTES_TARGET,
    STATE_BYTES_TARGET,
    RunLimits,
    invoke_tasks_bytes_estimate,
    state_bytes_estimate,
)


@pytest.mark.parametrize(
    ("desired", "budget", "granted"),
    [
        ({"a": 10, "b": 10}, 100, {"a": 10, "b": 10}),  # everybody fits: everybody gets what it wants
        ({"a": 600, "b": 600}, 1000, {"a": 500, "b": 500}),  # equal shares
        ({"a": 900, "b": 50, "c": 900}, 1000, {"a": 475, "b": 50, "c": 475}),  # b's unused share goes to the others
        ({"a": 0, "b": 2000}, 1000, {"a": 0, "b": 1000}),
        ({"a": 5}, 0, {"a": 0}),
        ({}, 10, {}),
    ],
)
def test_share_budget(desired: dict[str, int], budget: int, granted: dict[str, int]) -> None:
    assert share_budget(desired, budget) == granted


def test_who_gets_the_odd_one_changes_with_the_run() -> None:
    # 7 tasks for three labourers wanting 3 each: one gets 3, which one is drawn from the run's start
    winners = set()
    for seed in range(40):
        granted = share_budget({"a": 3, "b": 3, "c": 3}, 7, seed=seed)
        assert sorted(granted.values()) == [2, 2, 3]
        winners.add(max(granted, key=lambda key: granted[key]))
    assert winners == {"a", "b", "c"}


def test_when_the_budget_is_smaller_than_the_labourers_every_labourer_is_served_in_time() -> None:
    # 1,000 labourers with one task each and a budget of 100: nobody waits for ever behind the config's order
    desired = {f"l{n}": 1 for n in range(1000)}
    served: set[str] = set()
    for start in range(1_700_000_000, 1_700_000_000 + 60 * 200, 60):
        granted = share_budget(desired, 100, seed=start)
        assert sum(granted.values()) == 100
        served |= {key for key, tasks in granted.items() if tasks}
    assert served == set(desired)


wants = st.dictionaries(st.text(min_size=1, max_size=6), st.integers(min_value=0, max_value=60), max_size=600)


@given(desired=wants, budget=st.integers(min_value=0, max_value=task_budget.most_tasks("STANDARD")), seed=st.integers())
def test_a_standard_grant_never_passes_the_budget_a_want_or_the_history(
    desired: dict[str, int], budget: int, seed: int
) -> None:
    granted = grant(desired, RunLimits.of("STANDARD", budget), seed=seed)

    busy = sum(1 for tasks in granted.values() if tasks)
    tasks = sum(granted.values())
    assert tasks <= budget
    assert all(0 <= granted[key] <= desired[key] for key in desired)
    assert EVENTS_PER_RUN + EVENTS_PER_LABOURER * busy + EVENTS_PER_TASK * tasks <= HISTORY_EVENT_LIMIT
    # and it takes what fits: with room for one more busy labourer, nobody who wants tasks is left out...
    if EVENTS_PER_RUN + EVENTS_PER_LABOURER * (busy + 1) + EVENTS_PER_TASK * (tasks + 1) <= HISTORY_EVENT_LIMIT:
        assert tasks == min(budget, sum(desired.values())) or busy == sum(1 for want in desired.values() if want)


@given(desired=wants, budget=st.integers(min_value=0, max_value=task_budget.EXPRESS_MOST_TASKS), seed=st.integers())
def test_an_express_grant_is_bounded_by_the_budget_only(desired: dict[str, int], budget: int, seed: int) -> None:
    granted = grant(desired, RunLimits.of("EXPRESS", budget), seed=seed)

    assert sum(granted.values()) == min(budget, sum(desired.values()))


def test_with_many_labourers_wanting_one_task_each_a_standard_run_takes_as_many_as_its_history_holds() -> None:
    desired = {f"l{n}": 1 for n in range(1000)}

    granted = grant(desired, RunLimits.of("STANDARD", 450), seed=1)

    busy = sum(granted.values())  # one task each
    assert busy == (HISTORY_EVENT_LIMIT - EVENTS_PER_RUN) // (EVENTS_PER_LABOURER + EVENTS_PER_TASK)  # 415


task_ids = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=2048)


@given(
    tasks=st.lists(st.lists(task_ids, min_size=1, max_size=40), min_size=1, max_size=12),
    report_bytes=st.integers(min_value=0, max_value=150_000),
)
def test_trim_keeps_the_largest_state_within_its_target_and_drops_only_from_the_end(
    tasks: list[list[str]], report_bytes: int
) -> None:
    invocations = [
        {"labourer_id": f"l{n}", "arn": f"arn:aws:lambda:eu-west-1:111122223333:function:l{n}",
         "concurrency": 10, "tasks": [[task_id, "1700000000", "0", "1"] for task_id in ids]}
        for n, ids in enumerate(tasks)
    ]  # fmt: skip
    before = {entry["labourer_id"]: [task[0] for task in entry["tasks"]] for entry in invocations}

    kept = RunLimits.of("EXPRESS", 1500).trim(invocations, report_bytes=report_bytes)

    assert state_bytes_estimate(kept, report_bytes) <= STATE_BYTES_TARGET or not kept
    for entry in kept:
        assert invoke_tasks_bytes_estimate(entry) <= INVOKE_TASKS_BYTES_TARGET
        assert _invoke_tasks_output_bytes(entry) <= invoke_tasks_bytes_estimate(entry)
        ids = [task[0] for task in entry["tasks"]]
        assert ids  # a labourer left with no task leaves the list
        assert ids == before[entry["labourer_id"]][: len(ids)]  # a prefix: the oldest stay


def test_the_estimate_is_above_what_the_state_holds_with_every_outcome_at_its_longest() -> None:
    entry = {"labourer_id": "l1", "arn": "arn:aws:lambda:eu-west-1:111122223333:function:l1", "concurrency": 40,
             "tasks": [[f"task-{n:04d}", "1700000000", "0", "1"] for n in range(50)]}  # fmt: skip
    outcomes = [
        {"task_id": task[0], "outcome": "release_failed", "error": "Lambda.TooManyRequestsException" + "x" * 30}
        for task in entry["tasks"]
    ]
    fetched = {"invocations": [entry]}
    invoked = {"invocations": [{"labourer_id": "l1", "outcomes": outcomes}]}  # InvokeLabourers' result replaces it

    estimate = state_bytes_estimate([entry], 0)
    assert estimate >= max(len(json.dumps(state, separators=(",", ":"))) for state in (fetched, invoked))


def _state(**overrides: object) -> dict[str, object]:
    return {
        "run": {"execution": "arn:exec", "start": 100},
        "config": {"location": "ssm:/c", "sha256": "ab" * 32, "labourers": 3},
        "report": {
            "a": {"status": 4, "running": 1, "desired": 4, "fetched": 4},
            "b": {"status": 0, "set_by": "cpu", "queue": {"depth": 12, "oldest_age_seconds": 3.0}},
            "c": {"status": 4, "desired": 4, "fetched": 1},
        },
        "invocations": [
            {
                "labourer_id": "a",
                "outcomes": [
                    {"task_id": "t1", "outcome": "invoked"},
                    {"task_id": "t2", "outcome": "skipped"},
                    {"task_id": "t3", "outcome": "released", "error": "Lambda.TooManyRequestsException"},
                    {"task_id": "t4", "outcome": "invoked"},
                    {"task_id": "t5", "outcome": "unsure", "error": "Lambda.ServiceException"},
                    {"task_id": "t6", "outcome": "late"},
                    {"task_id": "t7", "outcome": "attempt_failed", "error": "Lambda.ResourceNotFoundException"},
                ],
            },
            {"labourer_id": "c", "outcomes": [], "error": "States.Runtime", "cause": "boom" * 400},
        ],
        **overrides,
    }


def test_summarize_counts_outcomes_per_labourer_and_names_errors() -> None:
    report = summarize(_state())

    a, b, c = report["labourers"]["a"], report["labourers"]["b"], report["labourers"]["c"]
    assert (a["fetched"], a["invoked"], a["skipped"], a["released"]) == (4, 2, 1, 1)
    assert (a["unsure"], a["failed"], a["late"], a["deferred"]) == (1, 1, 1, 1)  # a late task waits for the next run
    assert a["errors"] == {
        "Lambda.TooManyRequestsException": 1,
        "Lambda.ServiceException": 1,
        "Lambda.ResourceNotFoundException": 1,
    }
    assert b == {"status": 0, "set_by": "cpu", "queue": {"depth": 12, "oldest_age_seconds": 3.0}}
    assert c["labourer_error"]["error"] == "States.Runtime"
    assert len(c["labourer_error"]["cause"]) == REPORTED_CAUSE_CHARS
    assert report["totals"] == {"desired": 8, "fetched": 5, "invoked": 2, "unsure": 1, "skipped": 1, "released": 1,
                                "failed": 1, "late": 1, "redriven": 0, "deferred": 1, "set_aside": 0}  # fmt: skip
    assert report["execution"] == "arn:exec"
    assert report["config"] == {"sha256": "ab" * 32, "labourers": 3}


def test_the_claims_a_run_leaves_are_what_may_still_be_claimed_and_all_of_a_failed_labourer() -> None:
    # a: 2 invoked, 1 unsure, 1 attempt failed (skipped, released and late are not claimed by this run)
    # c: its iteration failed as a whole, so each task it was given may be claimed
    assert claims_left(_state()) == ClaimsLeft(ids={"a": ["t1", "t4", "t5", "t7"]}, unknown={"c": 1})


def test_a_line_leaves_out_its_zero_and_empty_fields_and_reads_back_whole() -> None:
    line = {"status": 4, "running": 0, "desired": 0, "set_aside": [], "errors": {}, "queue": None, "invoked": 2}

    compact = compact_line(line)

    assert compact == {"status": 4, "invoked": 2}
    assert [line_value(compact, key) for key in ("running", "set_aside", "errors", "blocked_by_health")] == [
        0,
        [],
        {},
        False,
    ]
    assert line_value(compact, "queue") == {"depth": 0, "oldest_age_seconds": 0.0}


def _invoke_tasks_output_bytes(entry: dict[str, Any]) -> int:
    """A labourer's InvokeTasks output as the state machine builds it (its ItemSelector's input, ``outcomes`` added
    by its ResultPath), every task's outcome at its longest, in the spaced JSON form the embedded stack writes."""
    output = {
        "labourer_id": entry["labourer_id"],
        "arn": entry["arn"],
        "concurrency": entry["concurrency"],
        "start": "9" * 24,
        "invoked": "9" * 24,
        "table": "t" * 255,
        "tasks": entry["tasks"],
        "outcomes": [{"task_id": task[0], "outcome": "release_failed", "error": "E" * 64} for task in entry["tasks"]],
    }
    return len(json.dumps(output, ensure_ascii=False).encode("utf-8"))


@given(ids=st.lists(task_ids, min_size=1, max_size=60))
def test_a_labourers_invoke_tasks_output_is_never_larger_than_trim_counts_it(ids: list[str]) -> None:
    # InvokeTasks' output holds the claim items and the outcomes side by side: the bound counts both
    entry = {"labourer_id": "l", "arn": "arn:aws:lambda:eu-west-1:111122223333:function:l", "concurrency": 40,
             "tasks": [[task_id, "1700000000", "0", "1"] for task_id in ids]}  # fmt: skip

    assert _invoke_tasks_output_bytes(entry) <= invoke_tasks_bytes_estimate(entry)
