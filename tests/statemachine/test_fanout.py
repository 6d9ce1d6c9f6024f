"""A run fans out over a Distributed Map of child executions (issue 21): one run invokes everything the caps allow,
across as many children as its groups need, with the cap, one invocation per claim and conservation holding when a
child fails, is stopped or is throttled throughout; and the run-wide executions keep the same shape whatever the
number of tasks.

Each test runs the real Orchestrator and Invocations state machines from the real template on the embedded stack, with
groups made small (``FOREMAN_GROUP_TASKS``, as the history tests lower the history) so that a few dozen tasks cross
several children, and ends with the conservation census: every task in exactly one place."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from foreman.local.stack import EmbeddedStack, environment
from foreman_core.greenfield import RunMarkers
from foreman_core.lease import read_finished
from foreman_core.task_store import TaskStore
from tests.conservation import census
from tests.faults import stop_at_state
from tests.statemachine.conftest import (
    FETCH_FUNCTION,
    FakeLabourer,
    both_orchestrator_types,
    labourer_config,
    report_for,
)

HOUR = 3600
TASKS_TABLE = "sosw_tasks"
GROUP = 5
"""Tasks per child in these tests (``FOREMAN_GROUP_TASKS``; 1,000 by default)."""


@pytest.fixture(autouse=True)
def small_groups() -> Iterator[None]:
    with environment({"FOREMAN_GROUP_TASKS": str(GROUP)}):
        yield


def _labourers(stack: EmbeddedStack, caps: dict[str, int], **extra: Any) -> dict[str, FakeLabourer]:
    fakes = {labourer_id: FakeLabourer() for labourer_id in caps}
    stack.put_config(
        {"task_config": {"labourers": {
            labourer_id: labourer_config(stack.add_function(labourer_id, fakes[labourer_id]), cap, duration=HOUR,
                                         cooldown=0, **extra)
            for labourer_id, cap in caps.items()}}}
    )  # fmt: skip
    return fakes


def _children(execution: Any) -> list[str]:
    return [arn for arn in execution.parts if arn not in (execution.arn, execution.invocations)]


@both_orchestrator_types
def test_one_run_invokes_every_task_the_caps_allow_across_several_children(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given three labourers with 12, 7 and 3 tasks queued and caps of 10, 20 and 3
    fakes = _labourers(stack, {"worker-a": 10, "worker-b": 20, "worker-c": 3})
    created = [
        task.task_id
        for labourer_id, count in {"worker-a": 12, "worker-b": 7, "worker-c": 3}.items()
        for task in store.create_tasks(labourer_id, [{"n": n} for n in range(count)])
    ]

    execution = stack.run()

    # Then one run invokes 10 + 7 + 3, each task once, over ceil(10/5) + ceil(7/5) + ceil(3/5) = 5 children
    invoked = {labourer_id: len(fake.events) for labourer_id, fake in fakes.items()}
    assert invoked == {"worker-a": 10, "worker-b": 7, "worker-c": 3}
    sent = [event["task_id"] for fake in fakes.values() for event in fake.events]
    assert len(sent) == len(set(sent)) == 20
    assert execution.output["totals"]["invoked"] == 20
    assert report_for(execution.output, "worker-a")["deferred"] == 0  # its cap, not the run, left 2 queued
    assert len(_children(execution)) == 5
    # each child is an Express execution of the Invocations state machine, listed by its Map Run
    sfn = stack.client("stepfunctions")
    (map_run,) = sfn.list_map_runs(executionArn=execution.invocations)["mapRuns"]
    listed = sfn.list_executions(mapRunArn=map_run["mapRunArn"])["executions"]
    assert sorted(child["executionArn"] for child in listed) == sorted(_children(execution))
    assert all(":express:" in arn for arn in _children(execution))
    # and the Orchestrator names the Invocations execution that carried the run on, named after the run
    orchestrator = stack.wait(execution.arn, follow=False).output
    assert orchestrator["invocations"] == execution.invocations
    assert execution.invocations.endswith(":" + orchestrator["run"])
    assert (orchestrator["groups"], orchestrator["tasks"]) == (5, 20)
    states = census(stack.client("dynamodb"), created, now=time.time()).counts()
    assert states == {"running": 20, "queued": 2}


def test_the_run_wide_executions_have_the_same_shape_for_10_and_for_200_tasks(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given the same labourer run once with 10 tasks and once with 200
    shapes = []
    for labourer_id, count in (("worker-a", 10), ("worker-b", 200)):
        fakes = _labourers(stack, {labourer_id: 1000})
        store.create_tasks(labourer_id, [{"n": n} for n in range(count)])
        execution = stack.run()
        assert len(fakes[labourer_id].events) == count
        run_wide = [execution.parts[execution.arn], execution.parts[execution.invocations]]
        shapes.append(
            (
                [len(history) for history in run_wide],
                max(len(json.dumps(event, default=str)) for history in run_wide for event in history),
                len(_children(execution)),
            )
        )

    # Then the Orchestrator's and the Invocations execution's histories have the same number of events, their largest
    # event (a state's input or output) grows by at most a few digits, and only the children multiply
    (events_small, largest_small, children_small), (events_large, largest_large, children_large) = shapes
    assert events_small == events_large
    assert largest_large - largest_small < 64
    assert (children_small, children_large) == (2, 40)


def test_a_child_stopped_mid_group_loses_nothing_and_spends_no_attempt_it_did_not_use(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given 15 tasks (three children of 5) of a labourer allowed one attempt, and the second child stopped as its
    # 3rd claim starts (an operator's StopExecution on one child)
    fakes = _labourers(stack, {"worker-a": 100}, max_attempts=1)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": n} for n in range(15)])]
    with stop_at_state("Claim", nth=8, execution=lambda arn: ":express:" in arn) as stopped:
        execution = stack.run()
    assert stopped.raised == 1

    # Then the run succeeds and reports the stopped child's group as lost (each task may have been claimed), and the
    # other children's tasks as invoked
    line = report_for(execution.output, "worker-a")
    assert line["lost"] == GROUP
    assert line["labourer_error"]["error"]
    sent = {event["task_id"] for event in fakes["worker-a"].events}
    assert line["invoked"] == 2 * GROUP  # the two children that finished
    # the stopped child may have sent a few before it stopped (the 8th claim overall is at most its 5th): those are
    # among its lost tasks, sent but never reported
    assert line["invoked"] <= len(sent) <= line["invoked"] + line["lost"] - 1
    # the run finished, with its labourer recorded as broken: the Scavenger gives back unsent attempts
    finished = read_finished(stack.client("dynamodb"), TASKS_TABLE).runs
    assert list(finished.values()) == [frozenset({"worker-a"})]
    claimed = store.count_running("worker-a", RunMarkers.at(time.time(), duration=HOUR, cooldown=0))
    assert len(sent) <= claimed < 15

    # When the Scavenger runs after they expired
    later = time.time() + HOUR + 60
    output = stack.run({"now": later}, state_machine="ScavengerArn").output
    ((scavenged,),) = [batch["labourers"] for batch in output["batches"]]

    # Then none died: every claimed task of the broken labourer went back with its attempt
    assert scavenged.get("dead", 0) == 0
    assert scavenged["returned_unsent"] == claimed
    census(stack.client("dynamodb"), created, now=later)


def test_a_payload_rewritten_after_the_fetch_into_text_that_is_not_json_is_skipped_and_then_set_aside(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given two labourers, and one of worker-a's tasks rewritten (still a string) into text that is not JSON between
    # the fetch and its claim: a claim that read the payload back would fail its child with States.Runtime
    fakes = _labourers(stack, {"worker-a": 10, "worker-b": 10})
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": n} for n in range(3)])]
    poisoned = created[0]
    created += [task.task_id for task in store.create_tasks("worker-b", [{"n": n} for n in range(4)])]

    rewrites = []

    def fetch_then_poison(real: Any, event: Any, context: Any) -> Any:
        result = real(event, context)
        if not rewrites:  # once, after the first run's fetch
            rewrites.append(poisoned)
            stack.client("dynamodb").update_item(
                TableName=TASKS_TABLE,
                Key={"task_id": {"S": poisoned}},
                UpdateExpression="SET payload = :text",
                ExpressionAttributeValues={":text": {"S": "not json {"}},
            )
        return result

    stack.runtime.wrap(FETCH_FUNCTION, fetch_then_poison)
    execution = stack.run()

    # Then no child fails: the claim's condition holds the task to the payload the fetch checked, so the rewritten
    # task is skipped, and every other task of both labourers is invoked with its own payload
    a, b = report_for(execution.output, "worker-a"), report_for(execution.output, "worker-b")
    assert (a["invoked"], a["skipped"], a["lost"], a["labourer_error"]) == (2, 1, 0, None)
    assert (b["invoked"], b["lost"]) == (4, 0)
    assert sorted(event["n"] for event in fakes["worker-a"].events) == [1, 2]
    assert poisoned not in {event["task_id"] for event in fakes["worker-a"].events}
    # and the next run sets it aside with its reason, invoking nothing of it
    second = report_for(stack.run().output, "worker-a")
    assert [entry["task_id"] for entry in second["set_aside"]] == [poisoned]
    assert "JSON" in second["set_aside"][0]["reason"]
    census(stack.client("dynamodb"), created, now=time.time())
