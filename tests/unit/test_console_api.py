"""The console's data: the graph of the real ASL with the path actually taken, each state's visits and how they ended,
the Map iterations, and the executions list paged.

``tests/fixtures/histories`` holds histories recorded from the embedded stack by ``tests/fixtures/record_histories.py``
(run it again when the state machines change shape). ``caught-*.json`` are one run with two labourers: its
Orchestrator execution (``caught-orchestrator``) hands its tasks to its Invocations execution
(``caught-invocations``), whose Distributed Map InvokeLabourers runs one Express child per labourer:
``caught-thumbnails`` (four tasks invoked) and ``caught-ghost`` (its function throttled for good: Invoke fails twice,
each caught by Release). ``failed.json`` is a run whose LoadConfig failed on an invalid config.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from foreman.console.api import MAX_VISITS, NotFoundError, graph_json, processor_definition, state_visits
from foreman.console.executions import ExecutionIndex, InvalidTokenError, run_summary
from foreman.history import read_history, traceback_text
from foreman.local.stack import PROJECT_ROOT
from foreman.picture import PlacedGraph, layout, parse_graph

STATEMACHINE = Path(PROJECT_ROOT) / "statemachine"
DEFINITION = json.loads((STATEMACHINE / "orchestrator.asl.json").read_text())
INVOCATIONS = json.loads((STATEMACHINE / "invocations.asl.json").read_text())
MAP_RUN = "arn:aws:states:us-east-1:123456789012:mapRun:foreman-invocations/0a1b:4c5d"
CHILD = processor_definition(INVOCATIONS, MAP_RUN)
"""What each of InvokeLabourers' children runs: its ItemProcessor."""
HISTORIES = Path(__file__).parent.parent / "fixtures" / "histories"


def recorded(name: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads((HISTORIES / f"{name}.json").read_text())
    return events


def chained(*events: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """History events one after the other, each following the one before (ids from 1)."""
    return [
        {"id": index, "previousEventId": index - 1, "type": kind, **details}
        for index, (kind, details) in enumerate(events, start=1)
    ]


def entered(name: str, payload: Any, kind: str = "Task") -> tuple[str, dict[str, Any]]:
    return f"{kind}StateEntered", {"stateEnteredEventDetails": {"name": name, "input": json.dumps(payload)}}


def exited(name: str, payload: Any, kind: str = "Task") -> tuple[str, dict[str, Any]]:
    return f"{kind}StateExited", {"stateExitedEventDetails": {"name": name, "output": json.dumps(payload)}}


def edges_by_pair(graph: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(edge["source"], edge["target"], edge["kind"]): edge for edge in graph["edges"]}


# -- the graph ---------------------------------------------------------------------------------------------------------


def test_the_orchestrators_graph_marks_the_path_of_a_run_that_handed_its_tasks_over() -> None:
    graph = graph_json(DEFINITION, read_history(recorded("caught-orchestrator")))

    boxes = {box["name"]: box for box in graph["boxes"]}
    assert set(boxes) == set(DEFINITION["States"])
    path = ["LoadConfig", "ComputeEcology", "FetchGreenfieldTasks", "AnyInvocations", "StartInvocations",
            "InvocationsStarted"]  # fmt: skip
    assert [name for name in boxes if boxes[name]["count"]] == [name for name in boxes if name in path]
    assert all(boxes[name]["count"] == 1 and boxes[name]["status"] == "succeeded" for name in path)
    assert (boxes["Summarize"]["count"], boxes["Summarize"]["status"]) == (0, "idle")
    edges = edges_by_pair(graph)
    taken = sorted((source, target) for (source, target, _), edge in edges.items() if edge["taken"])
    assert taken == sorted(pairwise(path))
    for box in graph["boxes"]:  # everything inside the picture
        assert box["x"] >= graph["x"]
        assert box["x"] + box["w"] <= graph["x"] + graph["width"] + 0.5
        assert box["y"] >= graph["y"]
        assert box["y"] + box["h"] <= graph["y"] + graph["height"] + 0.5


def test_the_invocations_graph_draws_the_distributed_maps_states_inside_it_and_its_own_path() -> None:
    graph = graph_json(INVOCATIONS, read_history(recorded("caught-invocations")))

    boxes = {box["name"]: box for box in graph["boxes"]}
    assert {"InvokeLabourers", "InvokeTasks", "ClaimWindow", "Claim", "Invoke", "Release", "Summarize"} <= set(boxes)
    assert boxes["InvokeLabourers"]["container"]
    assert (boxes["InvokeTasks"]["container"], boxes["InvokeTasks"]["depth"]) == (True, 1)
    assert (boxes["Claim"]["container"], boxes["Claim"]["depth"]) == (False, 2)  # inside InvokeTasks inside the Map
    assert (boxes["InvokeLabourers"]["count"], boxes["InvokeLabourers"]["status"]) == (1, "succeeded")
    assert (boxes["Summarize"]["count"], boxes["Summarize"]["status"]) == (1, "succeeded")
    assert boxes["Claim"]["count"] == 0  # the children's states are in the children's histories
    inner = boxes["InvokeLabourers"]
    for name in ("InvokeTasks", "Claim", "Invoke", "LabourerFailed"):
        box = boxes[name]
        assert inner["x"] < box["x"], name
        assert box["x"] + box["w"] < inner["x"] + inner["w"], name
        assert inner["y"] < box["y"], name
        assert box["y"] + box["h"] < inner["y"] + inner["h"], name
    edges = edges_by_pair(graph)
    assert edges[("InvokeLabourers", "Summarize", "next")]["taken"]
    assert not edges[("InvokeLabourers", "Summarize", "catch")]["taken"]


def test_a_childs_graph_is_its_maps_item_processor_with_the_tasks_path() -> None:
    graph = graph_json(CHILD, read_history(recorded("caught-thumbnails")))

    boxes = {box["name"]: box for box in graph["boxes"]}
    assert "InvokeLabourers" not in boxes
    assert "Summarize" not in boxes
    assert boxes["Claim"]["count"] == 4
    assert boxes["ClaimFailed"]["count"] == 0
    assert boxes["Claim"]["depth"] == 1  # inside InvokeTasks
    edges = edges_by_pair(graph)
    assert edges[("Claim", "Invoke", "next")]["count"] == 4
    assert edges[("InvokeTasks", "LabourerDone", "next")]["taken"]
    assert not edges[("Claim", "Skipped", "catch")]["taken"]


def test_the_item_processor_of_a_map_run_is_found_by_its_label_or_as_the_only_distributed_map() -> None:
    labelled = {"StartAt": "A", "States": {
        "A": {"Type": "Map", "Label": "first", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"},
              "StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}, "Next": "B"},
        "B": {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"},
              "StartAt": "Y", "States": {"Y": {"Type": "Pass", "End": True}}}, "End": True}}}  # fmt: skip

    assert processor_definition(labelled, "arn:aws:states:us-east-1:1:mapRun:m/first:1")["StartAt"] == "X"
    assert processor_definition(labelled, "arn:aws:states:us-east-1:1:mapRun:m/B:1")["StartAt"] == "Y"
    assert set(CHILD["States"]) == set(INVOCATIONS["States"]["InvokeLabourers"]["ItemProcessor"]["States"])
    with pytest.raises(NotFoundError):
        processor_definition(DEFINITION, MAP_RUN)  # the Orchestrator has no Distributed Map


def test_after_a_choice_only_the_branch_taken_is_drawn_taken() -> None:
    orchestrator = edges_by_pair(graph_json(DEFINITION, read_history(recorded("caught-orchestrator"))))
    assert orchestrator[("AnyInvocations", "StartInvocations", "choice")]["taken"]
    assert not orchestrator[("AnyInvocations", "Summarize", "default")]["taken"]

    graph = graph_json(CHILD, read_history(recorded("caught-ghost")))
    edges = edges_by_pair(graph)
    into_claim = [edge for edge in graph["edges"] if edge["target"] == "Claim" and edge["taken"]]
    assert [(edge["source"], edge["kind"]) for edge in into_claim] == [("ClaimWindow", "default")]
    assert edges[("ClaimWindow", "Claim", "default")]["count"] == 2
    assert not edges[("ClaimWindow", "Redriven", "choice")]["taken"]
    assert not edges[("ClaimWindow", "Late", "choice")]["taken"]


def _crosses(points: list[list[float]], box: dict[str, Any]) -> bool:
    """Whether a polyline passes through a box's inside (a 2-pixel inset, so touching its edge is not crossing)."""
    left, right, top, bottom = box["x"] + 2, box["x"] + box["w"] - 2, box["y"] + 2, box["y"] + box["h"] - 2
    for (x0, y0), (x1, y1) in pairwise(points):
        for step in range(101):
            x, y = x0 + (x1 - x0) * step / 100, y0 + (y1 - y0) * step / 100
            if left < x < right and top < y < bottom:
                return True
    return False


@pytest.mark.parametrize("machine", ["orchestrator", "invocations", "scavenger"])
def test_no_edge_is_drawn_through_another_states_box(machine: str) -> None:
    definition = json.loads((STATEMACHINE / f"{machine}.asl.json").read_text())

    graph = graph_json(definition, read_history([]))

    boxes = {box["name"]: box for box in graph["boxes"]}
    containers = _containers(layout(parse_graph(definition)))
    for edge in graph["edges"]:
        for name, box in boxes.items():
            if name in (edge["source"], edge["target"]) or name in containers.get(edge["source"], set()):
                continue
            assert not _crosses(edge["points"], box), (edge["source"], edge["target"], edge["kind"], name)


def _containers(placed: PlacedGraph, outer: frozenset[str] = frozenset()) -> dict[str, set[str]]:
    """Per state, the Map and Parallel states it is inside."""
    found: dict[str, set[str]] = {}
    for name, box in placed.boxes.items():
        found[name] = set(outer)
        for inner in box.inner:
            found.update(_containers(inner, outer | {name}))
    return found


def test_the_default_edge_of_a_choice_goes_around_the_states_between() -> None:
    graph = graph_json(INVOCATIONS, read_history([]))
    boxes = {box["name"]: box for box in graph["boxes"]}

    (default,) = [edge for edge in graph["edges"] if (edge["source"], edge["kind"]) == ("ClaimWindow", "default")]
    for name in ("Redriven", "Late"):  # the choice's other branches, drawn beside the default
        assert not _crosses(default["points"], boxes[name])
    orchestrator = graph_json(DEFINITION, read_history([]))
    boxes = {box["name"]: box for box in orchestrator["boxes"]}
    (default,) = [
        edge for edge in orchestrator["edges"] if (edge["source"], edge["kind"]) == ("AnyInvocations", "default")
    ]
    for name in ("StartInvocations", "InvocationsStarted"):
        assert not _crosses(default["points"], boxes[name])


# -- how states ended --------------------------------------------------------------------------------------------------


def test_a_failed_state_carries_its_error_and_its_traceback_as_text() -> None:
    history = read_history(recorded("failed"))

    assert history.status == "FAILED"
    assert history.state_status("LoadConfig") == "failed"
    (visit,) = history.visits_of("LoadConfig")
    assert (visit.status, visit.error) == ("failed", "ConfigError")
    text = traceback_text(visit.cause)
    assert text is not None
    assert text.startswith("Traceback (most recent call last):\n  File ")
    assert "\\n" not in text  # real line breaks, not JSON escapes
    assert text.splitlines()[-3:] == [
        "ConfigError: invalid orchestrator config (2 problem(s)):",
        "  - task_config.labourers.x.arn: missing required key 'arn'",
        "  - task_config.labourers.x.max_simultaneous_invocations: expected a non-negative integer, got string 'lots'",
    ]
    graph = graph_json(DEFINITION, history)
    boxes = {box["name"]: box for box in graph["boxes"]}
    assert boxes["LoadConfig"]["status"] == "failed"
    assert boxes["ComputeEcology"]["status"] == "idle"
    assert not any(edge["taken"] for edge in graph["edges"])


def test_a_caught_error_marks_the_state_that_failed_and_takes_the_catch_edge() -> None:
    history = read_history(recorded("caught-ghost"))  # the child of the labourer whose function is throttled

    statuses = [visit.status for visit in history.visits_of("Invoke")]
    assert statuses == ["caught", "caught"]
    assert history.state_status("Invoke") == "caught"
    assert {visit.error for visit in history.visits_of("Invoke")} == {"Lambda.TooManyRequestsException"}
    graph = graph_json(CHILD, history)
    edges = edges_by_pair(graph)
    assert edges[("Invoke", "Release", "catch")]["count"] == 2
    assert edges[("Release", "Released", "next")]["count"] == 2
    assert not edges[("Invoke", "AttemptFailed", "catch")]["taken"]
    boxes = {box["name"]: box for box in graph["boxes"]}
    assert (boxes["Invoke"]["status"], boxes["Invoke"]["caught"]) == ("caught", 2)
    assert boxes["Release"]["status"] == "succeeded"
    thumbnails = read_history(recorded("caught-thumbnails"))  # the other labourer's child: nothing caught
    assert [visit.status for visit in thumbnails.visits_of("Invoke")] == ["succeeded"] * 4


def test_a_failure_that_a_retry_recovers_from_is_not_an_error() -> None:
    history = read_history(
        chained(
            ("ExecutionStarted", {}),
            entered("LoadConfig", {}),
            ("TaskScheduled", {}),
            ("TaskFailed", {"taskFailedEventDetails": {"error": "Lambda.TooManyRequestsException", "cause": "busy"}}),
            ("TaskScheduled", {}),
            ("TaskSucceeded", {}),
            exited("LoadConfig", {"ok": 1}),
            ("ExecutionSucceeded", {"executionSucceededEventDetails": {"output": "{}"}}),
        )
    )

    (visit,) = history.visits_of("LoadConfig")
    assert (visit.status, visit.error, visit.retries) == ("succeeded", None, 1)


def test_each_exit_is_matched_to_the_earliest_open_entry_of_its_state() -> None:
    history = read_history(
        chained(
            entered("Claim", {"task": 1}),
            entered("Claim", {"task": 2}),
            exited("Claim", {"claimed": 1}),
            exited("Claim", {"claimed": 2}),
            entered("Claim", {"task": 3}),
        )
    )

    visits = state_visits(history)

    assert visits["Claim"]["entered"] == 3
    assert [(v["input"], v["output"], v["status"]) for v in visits["Claim"]["visits"]] == [
        ({"task": 1}, {"claimed": 1}, "succeeded"),
        ({"task": 2}, {"claimed": 2}, "succeeded"),
        ({"task": 3}, None, "running"),
    ]


def test_a_state_entered_many_times_keeps_its_count_and_its_first_visits() -> None:
    history = read_history(chained(*[entered("Invoke", {"n": n}) for n in range(MAX_VISITS + 7)]))

    visits = state_visits(history)

    assert visits["Invoke"]["entered"] == MAX_VISITS + 7
    assert len(visits["Invoke"]["visits"]) == MAX_VISITS


def test_the_scavengers_graph_has_every_state_of_its_asl_nested_ones_included() -> None:
    definition = json.loads((STATEMACHINE / "scavenger.asl.json").read_text())

    def names(states: dict[str, Any]) -> set[str]:
        found = set(states)
        for state in states.values():
            inner = state.get("ItemProcessor") or state.get("Iterator")
            if inner:
                found |= names(inner["States"])
        return found

    graph = graph_json(definition, read_history([]))

    assert {box["name"] for box in graph["boxes"]} == names(definition["States"])
    assert not any(edge["taken"] for edge in graph["edges"])


# -- Map iterations ----------------------------------------------------------------------------------------------------


def test_each_map_iteration_is_found_with_its_label_and_its_own_states() -> None:
    invocations = read_history(recorded("caught-invocations"))
    assert invocations.children(0) == {}  # a Distributed Map's items are child executions, not iterations
    assert [visit.state for visit in invocations.in_scope(0)] == ["InvokeLabourers", "Summarize"]

    ghost = read_history(recorded("caught-ghost"))
    (tasks,) = ghost.children(0).values()
    assert [(it.map_state, it.index) for it in tasks] == [("InvokeTasks", 0), ("InvokeTasks", 1)]
    assert all(it.label and len(it.label) == 32 for it in tasks)  # the task ids
    assert [visit.state for visit in ghost.in_scope(0)] == ["InvokeTasks", "LabourerDone"]
    for task in tasks:
        visits = ghost.in_scope(task.id)
        assert [(visit.state, visit.status) for visit in visits] == [
            ("ClaimWindow", "succeeded"),
            ("Claim", "succeeded"),
            ("Invoke", "caught"),
            ("Release", "succeeded"),
            ("Released", "succeeded"),
        ]
        assert visits[0].input["task_id"] == task.label  # each iteration's own task, not its neighbour's
    thumbnails = read_history(recorded("caught-thumbnails"))
    (thumbnails_tasks,) = thumbnails.children(0).values()
    assert len(thumbnails_tasks) == 4
    assert all(
        [visit.status for visit in thumbnails.in_scope(it.id)] == ["succeeded", "succeeded", "succeeded"]
        for it in thumbnails_tasks
    )


# -- the executions list -----------------------------------------------------------------------------------------------

EPOCH = datetime(2026, 12, 1, tzinfo=UTC)


class FakeStepFunctions:
    """``list_executions`` (newest first, paged) and ``describe_execution`` over executions in memory."""

    def __init__(self) -> None:
        self.executions: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[str] = []

    def add(self, machine: str, count: int, *, status: str = "SUCCEEDED", output: Any = None) -> None:
        found = self.executions.setdefault(machine, [])
        for _ in range(count):
            number = sum(len(items) for items in self.executions.values())
            found.append(
                {
                    "executionArn": f"arn:aws:states:us-east-1:1:execution:{machine}:run-{number:05d}",
                    "name": f"run-{number:05d}",
                    "status": status,
                    "startDate": EPOCH + timedelta(seconds=number),
                    "stopDate": None if status == "RUNNING" else EPOCH + timedelta(seconds=number + 0.5),
                    "output": json.dumps(output or {"totals": {"invoked": number % 3}}),
                }
            )

    def list_executions(self, stateMachineArn: str, maxResults: int, nextToken: str | None = None) -> dict[str, Any]:  # noqa: N803
        self.calls.append("list")
        items = sorted(self.executions.get(stateMachineArn, []), key=lambda e: e["startDate"], reverse=True)
        start = int(nextToken or 0)
        page = items[start : start + maxResults]
        more = start + maxResults < len(items)
        return {"executions": page, **({"nextToken": str(start + maxResults)} if more else {})}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:  # noqa: N803
        self.calls.append("describe")
        return next(e for items in self.executions.values() for e in items if e["executionArn"] == executionArn)


@pytest.fixture
def sfn() -> FakeStepFunctions:
    return FakeStepFunctions()


@pytest.fixture
def index(sfn: FakeStepFunctions) -> ExecutionIndex:
    return ExecutionIndex(lambda service: sfn, {"Orchestrator": "Orchestrator", "Scavenger": "Scavenger"})


def pages(index: ExecutionIndex, **filters: Any) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        page = index.page(next_token=token, **filters)
        yield page
        token = page["next_token"]
        if token is None:
            return


def test_the_list_pages_through_every_execution_newest_first_and_says_how_many(
    sfn: FakeStepFunctions, index: ExecutionIndex
) -> None:
    sfn.add("Orchestrator", 150)
    sfn.add("Scavenger", 80)

    seen = [row for page in pages(index, limit=100) for row in page["executions"]]

    assert len(seen) == 230
    assert len({row["arn"] for row in seen}) == 230
    starts = [row["start"] for row in seen]
    assert starts == sorted(starts, reverse=True)
    first = index.page(limit=100)
    assert (first["total"], first["counts"], first["machines"]) == (
        230,
        {"SUCCEEDED": 230},
        {"Orchestrator": 150, "Scavenger": 80},
    )


def test_a_page_neither_repeats_nor_skips_an_execution_when_new_runs_start_meanwhile(
    sfn: FakeStepFunctions, index: ExecutionIndex
) -> None:
    sfn.add("Orchestrator", 120)
    first = index.page(limit=100)

    sfn.add("Orchestrator", 7)  # newer ones, at the top
    second = index.page(limit=100, next_token=first["next_token"])

    shown = [row["arn"] for row in first["executions"] + second["executions"]]
    assert len(shown) == len(set(shown)) == 120
    assert second["total"] == 127
    assert second["next_token"] is None


def test_the_list_filters_by_state_machine_and_status(sfn: FakeStepFunctions, index: ExecutionIndex) -> None:
    sfn.add("Orchestrator", 5)
    sfn.add("Orchestrator", 2, status="FAILED")
    sfn.add("Scavenger", 3)

    failed = index.page(state_machine="Orchestrator", status="FAILED")
    scavenger = index.page(state_machine="Scavenger")

    assert [row["status"] for row in failed["executions"]] == ["FAILED", "FAILED"]
    assert failed["total"] == 2
    assert failed["counts"] == {"SUCCEEDED": 5, "FAILED": 2}
    assert {row["state_machine"] for row in scavenger["executions"]} == {"Scavenger"}
    assert scavenger["total"] == 3


def test_a_refresh_reads_only_what_is_new_and_what_was_running(sfn: FakeStepFunctions, index: ExecutionIndex) -> None:
    sfn.add("Orchestrator", 2500)
    sfn.add("Orchestrator", 1, status="RUNNING")
    index.refresh()
    sfn.calls.clear()

    sfn.executions["Orchestrator"][-1]["status"] = "SUCCEEDED"
    sfn.add("Orchestrator", 3)
    index.refresh()

    assert sfn.calls.count("list") == 2  # one page per state machine: the new ones and the first known one
    page = index.page(limit=5)
    assert page["total"] == 2504
    assert page["counts"] == {"SUCCEEDED": 2504}


def test_each_row_says_what_the_run_did_and_is_described_once(sfn: FakeStepFunctions, index: ExecutionIndex) -> None:
    sfn.add("Orchestrator", 1, output={"totals": {"invoked": 4, "released": 2, "failed": 0}})
    sfn.add("Scavenger", 1, output={"labourers": [{"archived": 3, "retried": 1}, {"archived": 1, "dead": 2}]})

    index.page()
    sfn.calls.clear()
    rows = {row["state_machine"]: row for row in index.page()["executions"]}

    assert rows["Orchestrator"]["summary"] == {"invoked": 4, "released": 2}
    assert rows["Scavenger"]["summary"] == {"archived": 4, "retried": 1, "dead": 2}
    assert "describe" not in sfn.calls  # an ended execution never changes


def test_a_run_that_handed_over_says_what_its_invocations_execution_reported(sfn: FakeStepFunctions) -> None:
    index = ExecutionIndex(lambda service: sfn, {"Orchestrator": "Orchestrator", "Invocations": "Invocations"})
    sfn.add("Invocations", 2, status="RUNNING")
    running, ended = (item["executionArn"] for item in sfn.executions["Invocations"])
    sfn.add("Orchestrator", 1, output={"run": "run-1", "invocations": running, "groups": 1, "tasks": 3})
    sfn.add("Orchestrator", 1, output={"run": "run-2", "invocations": ended, "groups": 2, "tasks": 6})
    sfn.executions["Invocations"][1].update(
        status="SUCCEEDED", output=json.dumps({"totals": {"invoked": 5, "failed": 1}})
    )

    rows = {row["arn"]: row for row in index.page(state_machine="Orchestrator")["executions"]}
    first, second = (item["executionArn"] for item in sfn.executions["Orchestrator"])

    assert (rows[first]["summary"], rows[first]["handed_to"], rows[first]["handed_status"]) == ({}, running, "RUNNING")
    assert (rows[second]["summary"], rows[second]["handed_to"]) == ({"invoked": 5, "failed": 1}, ended)
    sfn.executions["Invocations"][0].update(status="SUCCEEDED", output=json.dumps({"totals": {"released": 3}}))
    rows = {row["arn"]: row for row in index.page(state_machine="Orchestrator")["executions"]}
    assert rows[first]["summary"] == {"released": 3}  # read again once it ended: a running one was not kept


def test_a_token_the_console_did_not_hand_out_is_refused(index: ExecutionIndex) -> None:
    with pytest.raises(InvalidTokenError):
        index.page(next_token="not-a-token")


def test_run_summary_of_nothing_is_empty() -> None:
    assert run_summary(None) == {}
    assert run_summary({"totals": {"invoked": 0}}) == {}
