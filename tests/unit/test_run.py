"""The run's pure parts: sharing the task budget fairly between labourers, splitting the tasks into groups (one child
workflow execution's share each, within the child's state), and the summary report."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foreman_core import task_budget
from foreman_core.lease import ClaimsLeft
from foreman_core.report_line import compact_line, line_value
from foreman_core.run import REPORTED_CAUSE_CHARS, claims_left, grant, share_budget, summarize
from foreman_core.run_limits import (
    INVOKE_TASKS_BYTES_TARGET,
    RunLimits,
    invoke_tasks_bytes_estimate,
    split_groups,
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


@given(desired=wants, budget=st.integers(min_value=0, max_value=task_budget.MOST_TASKS), seed=st.integers())
def test_a_grant_is_bounded_by_the_budget_and_the_wants_only(desired: dict[str, int], budget: int, seed: int) -> None:
    # the tasks travel in S3 and each child has its own history: no history or state limit bounds a run
    granted = grant(desired, RunLimits.of(budget), seed=seed)

    assert sum(granted.values()) == min(budget, sum(desired.values()))
    assert all(0 <= granted[key] <= desired[key] for key in desired)


def test_a_thousand_labourers_wanting_one_task_each_are_all_served() -> None:
    desired = {f"l{n}": 1 for n in range(1000)}

    granted = grant(desired, RunLimits.of(task_budget.DEFAULT_TASKS), seed=1)

    assert granted == desired  # before the Distributed Map, a Standard run's history held 415 of them


task_ids = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=2048)


@given(
    tasks=st.lists(st.lists(task_ids, min_size=1, max_size=40), min_size=1, max_size=12),
    most=st.integers(min_value=1, max_value=50),
)
def test_groups_keep_every_task_in_order_each_within_a_childs_state(tasks: list[list[str]], most: int) -> None:
    invocations = [
        {"labourer_id": f"l{n}", "arn": f"arn:aws:lambda:eu-west-1:111122223333:function:l{n}",
         "concurrency": 10, "tasks": [[task_id, "1700000000", "0", "1"] for task_id in ids]}
        for n, ids in enumerate(tasks)
    ]  # fmt: skip

    groups = split_groups(invocations, most=most)

    # no task is dropped, each labourer's stay in queue order, and a group is one labourer's
    for entry in invocations:
        mine = [group for group in groups if group["labourer_id"] == entry["labourer_id"]]
        assert [task for group in mine for task in group["tasks"]] == entry["tasks"]
        assert all(group["arn"] == entry["arn"] and group["concurrency"] == 10 for group in mine)
    for group in groups:
        assert 1 <= len(group["tasks"]) <= most
        # within the child's state, unless one task alone passes it (a 2 KB id cannot: at most ~20 KB)
        assert invoke_tasks_bytes_estimate(group) <= INVOKE_TASKS_BYTES_TARGET or len(group["tasks"]) == 1
        assert _invoke_tasks_output_bytes(group) <= invoke_tasks_bytes_estimate(group)


def test_groups_are_cut_by_bytes_before_their_count_with_long_ids() -> None:
    entry = {"labourer_id": "l", "arn": "arn:aws:lambda:eu-west-1:111122223333:function:l", "concurrency": 40,
             "tasks": [[f"{n:04d}" + "x" * 1500, "1700000000", "0", "1"] for n in range(400)]}  # fmt: skip

    groups = split_groups([entry], most=1000)

    assert len(groups) > 1  # 400 ids of 1.5 KB pass 250,000 bytes of claim items and outcomes
    assert all(invoke_tasks_bytes_estimate(group) <= INVOKE_TASKS_BYTES_TARGET for group in groups)


def _state(**overrides: object) -> dict[str, object]:
    return {
        "run": {"execution": "arn:exec", "start": 100},
        "config": {"location": "ssm:/c", "sha256": "ab" * 32, "labourers": 3},
        "report": {
            "a": {"status": 4, "running": 1, "desired": 4, "fetched": 4},
            "b": {"status": 0, "set_by": "cpu", "queue": {"depth": 12, "oldest_age_seconds": 3.0}},
            "c": {"status": 4, "desired": 4, "fetched": 1},
        },
        **overrides,
    }


def _results() -> list[dict[str, object]]:
    return [
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
        {"labourer_id": "c", "error": "States.Runtime", "cause": "boom" * 400, "task_ids": ["t9"]},
    ]


def test_summarize_counts_outcomes_per_labourer_and_names_errors() -> None:
    report = summarize(_state(), _results())

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
                                "failed": 1, "lost": 1, "late": 1, "redriven": 0, "deferred": 1,
                                "set_aside": 0}  # fmt: skip
    assert c["lost"] == 1  # its child ended without its outcomes: the task may or may not have been invoked
    assert report["execution"] == "arn:exec"
    assert report["config"] == {"sha256": "ab" * 32, "labourers": 3}


def test_the_claims_a_run_leaves_are_what_may_still_be_claimed_and_all_of_a_failed_labourer() -> None:
    # a: 2 invoked, 1 unsure, 1 attempt failed (skipped, released and late are not claimed by this run)
    # c: its child failed as a whole, so each task of its group may be claimed: named, so the next count reads it
    assert claims_left(_results()) == ClaimsLeft(ids={"a": ["t1", "t4", "t5", "t7"], "c": ["t9"]}, unknown={})


def test_a_labourer_over_several_groups_is_reported_once_with_every_groups_outcomes() -> None:
    results = [
        {"labourer_id": "a", "outcomes": [{"task_id": "t1", "outcome": "invoked"}]},
        {
            "labourer_id": "a",
            "outcomes": [{"task_id": "t2", "outcome": "invoked"}, {"task_id": "t3", "outcome": "late"}],
        },
        {"labourer_id": "a", "outcomes": [{"task_id": "t4", "outcome": "not_started"}]},
    ]

    line = summarize(_state(), results)["labourers"]["a"]

    assert (line["invoked"], line["late"], line["deferred"]) == (2, 2, 2)


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
        "run": "run-" + "f" * 32,
        "deadline": "2026-12-07T23:59:59Z",
        "redrive_count": 0,
        "tasks": entry["tasks"],
        "outcomes": [{"task_id": task[0], "outcome": "release_failed", "error": "E" * 64} for task in entry["tasks"]],
    }
    return len(json.dumps(output, ensure_ascii=False).encode("utf-8"))


@given(ids=st.lists(task_ids, min_size=1, max_size=60))
def test_a_groups_invoke_tasks_output_is_never_larger_than_its_estimate(ids: list[str]) -> None:
    # InvokeTasks' output holds the claim items and the outcomes side by side: the bound counts both
    entry = {"labourer_id": "l", "arn": "arn:aws:lambda:eu-west-1:111122223333:function:l", "concurrency": 40,
             "tasks": [[task_id, "1700000000", "0", "1"] for task_id in ids]}  # fmt: skip

    assert _invoke_tasks_output_bytes(entry) <= invoke_tasks_bytes_estimate(entry)
