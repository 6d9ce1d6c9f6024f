"""The console's execution page data: the graph of the real ASL with the path taken, and each state's visits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from foreman.console.api import MAX_VISITS, graph_json, state_visits
from foreman.local.stack import PROJECT_ROOT
from foreman.picture import entered_counts

DEFINITION = json.loads((Path(PROJECT_ROOT) / "statemachine" / "orchestrator.asl.json").read_text())


def entered(name: str, payload: Any) -> dict[str, Any]:
    return {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name, "input": json.dumps(payload)}}


def exited(name: str, payload: Any) -> dict[str, Any]:
    return {"type": "TaskStateExited", "stateExitedEventDetails": {"name": name, "output": json.dumps(payload)}}


def test_the_graph_has_every_state_of_the_asl_and_marks_the_path_taken() -> None:
    history = [entered(name, {}) for name in ("LoadConfig", "ComputeEcology", "FetchGreenfieldTasks",
               "InvokeLabourers", "InvokeTasks", "Claim", "Invoke", "LabourerDone", "Summarize")]  # fmt: skip
    history.append(entered("Claim", {}))

    graph = graph_json(DEFINITION, entered_counts(history))

    boxes = {box["name"]: box for box in graph["boxes"]}
    assert {"LoadConfig", "Claim", "Invoke", "Release", "ClaimFailed", "Summarize"} <= set(boxes)
    assert boxes["Claim"]["count"] == 2
    assert boxes["Release"]["count"] == 0
    assert boxes["InvokeLabourers"]["container"]
    assert not boxes["Claim"]["container"]
    assert boxes["Claim"]["depth"] == 2  # inside InvokeTasks inside InvokeLabourers
    edges = {(edge["source"], edge["target"]): edge for edge in graph["edges"]}
    assert edges[("Claim", "Invoke")]["taken"]
    assert not edges[("Invoke", "Release")]["taken"]
    assert edges[("Invoke", "Release")]["kind"] == "catch"
    for box in graph["boxes"]:  # everything inside the picture
        assert box["x"] >= 0
        assert box["x"] + box["w"] <= graph["width"] + 0.5
        assert box["y"] >= 0
        assert box["y"] + box["h"] <= graph["height"] + 0.5


def test_each_exit_is_matched_to_the_earliest_open_entry_of_its_state() -> None:
    history = [entered("Claim", {"task": 1}), entered("Claim", {"task": 2}), exited("Claim", {"claimed": 1}),
               exited("Claim", {"claimed": 2}), entered("Claim", {"task": 3})]  # fmt: skip

    visits = state_visits(history)

    assert visits["Claim"]["entered"] == 3
    assert visits["Claim"]["visits"] == [
        {"input": {"task": 1}, "output": {"claimed": 1}},
        {"input": {"task": 2}, "output": {"claimed": 2}},
        {"input": {"task": 3}, "output": None},
    ]


def test_a_state_entered_many_times_keeps_its_count_and_its_first_visits() -> None:
    history = [entered("Invoke", {"n": n}) for n in range(MAX_VISITS + 7)]

    visits = state_visits(history)

    assert visits["Invoke"]["entered"] == MAX_VISITS + 7
    assert len(visits["Invoke"]["visits"]) == MAX_VISITS


def test_the_scavengers_graph_has_every_state_of_its_asl_nested_ones_included() -> None:
    definition = json.loads((Path(PROJECT_ROOT) / "statemachine" / "scavenger.asl.json").read_text())

    def names(states: dict[str, Any]) -> set[str]:
        found = set(states)
        for state in states.values():
            inner = state.get("ItemProcessor") or state.get("Iterator")
            if inner:
                found |= names(inner["States"])
        return found

    graph = graph_json(definition, {})

    assert {box["name"] for box in graph["boxes"]} == names(definition["States"])
    assert not any(edge["taken"] for edge in graph["edges"])
