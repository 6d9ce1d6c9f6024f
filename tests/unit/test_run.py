"""The run's pure parts: sharing the task budget fairly between labourers, and the summary report."""

from __future__ import annotations

from typing import Any

import pytest

from foreman_core.run import share_budget, summarize


@pytest.mark.parametrize(
    ("desired", "budget", "granted"),
    [
        ({"a": 10, "b": 10}, 100, {"a": 10, "b": 10}),  # everybody fits: everybody gets what it wants
        ({"a": 600, "b": 600}, 1000, {"a": 500, "b": 500}),  # equal shares
        ({"a": 900, "b": 50, "c": 900}, 1000, {"a": 475, "b": 50, "c": 475}),  # b's unused share goes to the others
        ({"a": 0, "b": 2000}, 1000, {"a": 0, "b": 1000}),
        ({"a": 3, "b": 3, "c": 3}, 7, {"a": 3, "b": 2, "c": 2}),  # the odd one goes to the first in config order
        ({"a": 5}, 0, {"a": 0}),
        ({}, 10, {}),
    ],
)
def test_share_budget(desired: dict[str, int], budget: int, granted: dict[str, int]) -> None:
    assert share_budget(desired, budget) == granted


def test_share_budget_never_exceeds_the_budget_or_a_want() -> None:
    for budget in range(0, 60, 7):
        desired = {"a": 13, "b": 1, "c": 29, "d": 0, "e": 8}
        granted = share_budget(desired, budget)
        assert sum(granted.values()) == min(budget, sum(desired.values()))
        assert all(granted[key] <= desired[key] for key in desired)


def _entry(labourer_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "labourer_id": labourer_id,
        "status": 4,
        "health": {"status": 4, "set_by": None, "readings": []},
        "cap": 5,
        "running": 1,
        "desired": 4,
        "tasks": [[task_id, "2000", "0", "1"] for task_id in ("t1", "t2", "t3", "t4")],
        "set_aside": [],
        **overrides,
    }


def test_summarize_counts_outcomes_per_labourer_and_names_errors() -> None:
    state = {
        "run": {"execution": "arn:exec", "start": 100},
        "labourers": [
            _entry("a"),
            _entry("b", status=0, desired=0, tasks=[]),
            _entry("c", tasks=[["x", "2000", "0", "1"]]),
        ],
        "results": [
            {
                "labourer_id": "a",
                "outcomes": [
                    {"task_id": "t1", "outcome": "invoked"},
                    {"task_id": "t2", "outcome": "skipped"},
                    {"task_id": "t3", "outcome": "released", "error": "Lambda.TooManyRequestsException"},
                    {"task_id": "t4", "outcome": "invoked"},
                ],
            },
            {"labourer_id": "b", "outcomes": []},
            {"labourer_id": "c", "outcomes": [], "error": "States.Runtime", "cause": "boom"},
        ],
    }

    report = summarize(state)

    a, b, c = report["labourers"]
    assert (a["fetched"], a["invoked"], a["skipped"], a["released"]) == (4, 2, 1, 1)
    assert a["errors"] == {"Lambda.TooManyRequestsException": 1}
    assert (b["status_name"], b["invoked"]) == ("Bad", 0)
    assert c["labourer_error"] == {"error": "States.Runtime", "cause": "boom"}
    assert report["totals"]["invoked"] == 2
    assert report["execution"] == "arn:exec"
