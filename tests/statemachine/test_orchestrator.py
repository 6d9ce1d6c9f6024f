"""The Orchestrator end to end: the real ASL from the real template, the real handlers, on the embedded stack."""

from __future__ import annotations

import copy
import time
from collections import Counter
from typing import Any

import pytest

from foreman.local.stack import STATE_LIMIT_BYTES, EmbeddedStack, ExecutionFailedError
from foreman_core import task_budget
from foreman_core.greenfield import RunMarkers
from foreman_core.task_store import TaskStore
from tests.builders import markers_at
from tests.fixtures.seed_config import SEED_CONFIG
from tests.statemachine.conftest import (
    FETCH_FUNCTION,
    FakeLabourer,
    both_orchestrator_types,
    cpu_metric,
    labourer_config,
    report_for,
    seed_cpu,
)

pytestmark = both_orchestrator_types  # every test on a Standard and on an Express Orchestrator

LOWER_IS_BETTER = {3: 50, 4: 25}


def test_each_labourer_gets_the_formulas_number_of_invocations(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given four labourers with 20 queued tasks each and different health, one with 2 tasks already running
    fakes = {name: FakeLabourer() for name in ("worker-a", "worker-b", "worker-c", "worker-d")}
    arns = {name: stack.add_function(name, fake) for name, fake in fakes.items()}
    seed_cpu(stack, "db-b", 30)  # <= 50 but not <= 25: Good (3)
    seed_cpu(stack, "db-c", 60)  # above every threshold: Bad (0)
    seed_cpu(stack, "db-d", 70)  # <= 80: Moderate (2)
    stack.put_config(
        {
            "task_config": {
                "labourers": {
                    "worker-a": labourer_config(arns["worker-a"], 10),
                    "worker-b": labourer_config(
                        arns["worker-b"], 10, health_metrics={"cpu": cpu_metric("db-b", LOWER_IS_BETTER)}
                    ),
                    "worker-c": labourer_config(
                        arns["worker-c"], 10, health_metrics={"cpu": cpu_metric("db-c", LOWER_IS_BETTER)}
                    ),
                    "worker-d": labourer_config(
                        arns["worker-d"], 10, health_metrics={"cpu": cpu_metric("db-d", {2: 80, 3: 50, 4: 25})}
                    ),
                }
            }
        }
    )
    for name in fakes:
        store.create_tasks(name, [{"n": i} for i in range(20)])
    earlier = RunMarkers.at(time.time() - 100, duration=900, cooldown=300)
    for task in store.next_tasks("worker-d", 2, start=earlier.start):
        assert store.claim(task.task_id, "worker-d", earlier).claimed

    # When the Orchestrator runs
    output = stack.run().output

    # Then each labourer gets max(floor(cap * coefficient[status]) - running, 0) invocations
    expected = {  # (status, running, desired)
        "worker-a": (4, 0, 10),
        "worker-b": (3, 0, 7),
        "worker-c": (0, 0, 0),
        "worker-d": (2, 2, 3),
    }
    for name, (status, running, desired) in expected.items():
        line = report_for(output, name)
        assert (line["status"], line["running"], line["desired"], line["invoked"]) == (
            status,
            running,
            desired,
            desired,
        )
        assert len(fakes[name].events) == desired
    assert report_for(output, "worker-b")["set_by"] == "cpu"
    assert report_for(output, "worker-a")["set_by"] is None
    assert output["totals"]["invoked"] == 20


def test_a_labourer_with_nothing_desired_is_not_invoked_at_all(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given a labourer whose cap is already used up by running tasks (desired 0), beside a healthy one
    full, free = FakeLabourer(), FakeLabourer()
    stack.put_config(
        {
            "task_config": {
                "labourers": {
                    "worker-a": labourer_config(stack.add_function("worker-a", full), 2),
                    "worker-b": labourer_config(stack.add_function("worker-b", free), 2),
                }
            }
        }
    )
    store.create_tasks("worker-a", [{"n": i} for i in range(5)])
    store.create_tasks("worker-b", [{"n": i} for i in range(5)])
    earlier = RunMarkers.at(time.time() - 10, duration=900, cooldown=300)
    for task in store.next_tasks("worker-a", 2, start=earlier.start):
        store.claim(task.task_id, "worker-a", earlier)

    execution = stack.run()

    # Then its inner Map ran over an empty list (never a MaxConcurrency of 0, which would mean unlimited)
    line = report_for(execution.output, "worker-a")
    assert (line["desired"], line["fetched"], line["invoked"]) == (0, 0, 0)
    assert full.events == []
    assert len(free.events) == 2
    assert store.queue_length("worker-a", start=time.time()) == 3


def test_in_flight_invokes_never_exceed_the_cap(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given a labourer that takes a while per call, a cap of 4, and more tasks than that
    slow = FakeLabourer(work_seconds=0.15)
    stack.put_config(
        {"task_config": {"labourers": {"worker-a": labourer_config(stack.add_function("worker-a", slow), 4)}}}
    )
    store.create_tasks("worker-a", [{"n": i} for i in range(12)])

    stack.run()

    # Then calls overlapped, but never more than 4 at once (measured inside the labourer's runtime)
    peak = stack.runtime.peak_in_flight("worker-a")
    assert 2 <= peak <= 4
    assert len(slow.events) == 4


def test_the_map_concurrency_is_clamped_to_40(stack: EmbeddedStack, store: TaskStore) -> None:
    slow = FakeLabourer(work_seconds=0.05)
    stack.put_config(
        {"task_config": {"labourers": {"worker-a": labourer_config(stack.add_function("worker-a", slow), 60)}}}
    )
    store.create_tasks("worker-a", [{"n": i} for i in range(60)])

    stack.run()

    assert len(slow.events) == 60
    assert stack.runtime.peak_in_flight("worker-a") <= 40


def test_a_task_claimed_by_another_orchestrator_after_the_fetch_is_skipped(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given 8 queued tasks, half of which another orchestrator on the same tables (sosw during a migration, or
    # a Foreman run whose lease expired) claims after this run fetched them and before it claims
    fake = FakeLabourer()
    stack.put_config(
        {"task_config": {"labourers": {"worker-a": labourer_config(stack.add_function("worker-a", fake), 8)}}}
    )
    created = store.create_tasks("worker-a", [{"n": i} for i in range(8)])
    elsewhere = [task.task_id for task in created[::2]]

    def claimed_elsewhere_after_fetch(real: Any, event: Any, context: Any) -> Any:
        result = real(event, context)
        for task_id in elsewhere:
            assert store.claim(task_id, "worker-a", markers_at(time.time() + 1)).claimed
        return result

    stack.runtime.wrap(FETCH_FUNCTION, claimed_elsewhere_after_fetch)

    line = report_for(stack.run().output, "worker-a")

    # Then this run's conditional claims lost those four races: skipped, not invoked twice
    assert (line["fetched"], line["invoked"], line["skipped"]) == (8, 4, 4)
    assert sorted(fake.task_ids) == sorted(task.task_id for task in created[1::2])
    assert sorted(Counter(fake.task_ids).values()) == [1] * 4


def test_an_invoke_that_keeps_failing_releases_the_claim(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given a labourer whose every invoke is throttled by the Lambda service
    fake = FakeLabourer()
    stack.put_config(
        {"task_config": {"labourers": {"worker-a": labourer_config(stack.add_function("worker-a", fake), 2)}}}
    )
    created = store.create_tasks("worker-a", [{"n": 1}, {"n": 2}])
    stack.runtime.add_fault("worker-a", "TooManyRequestsException", status=429)

    output = stack.run().output

    # Then each invoke was retried (1 + 3 attempts), the claim released, the task queued again as it was
    line = report_for(output, "worker-a")
    assert (line["invoked"], line["released"]) == (0, 2)
    assert line["errors"] == {"Lambda.TooManyRequestsException": 2}
    assert len(stack.runtime.calls("worker-a")) == 8
    assert fake.events == []
    for before in created:
        after = store.get_task(before.task_id)
        assert after is not None
        assert (after.greenfield, after.attempts) == (before.greenfield, before.attempts)
    assert store.queue_length("worker-a", start=time.time()) == 2


def test_a_broken_labourer_does_not_stop_the_others(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given a labourer whose ARN names no function, one whose metric query fails, and a healthy one
    healthy = FakeLabourer()
    missing_arn = "arn:aws:lambda:us-east-1:123456789012:function:worker-b"  # never created
    stack.put_config(
        {
            "task_config": {
                "labourers": {
                    "worker-a": labourer_config(
                        stack.add_function("worker-a", healthy),
                        3,
                        health_metrics={"cpu": cpu_metric("db-a", LOWER_IS_BETTER)},  # fetched in the same call
                    ),
                    "worker-b": labourer_config(missing_arn, 3),
                    "worker-c": labourer_config(
                        stack.add_function("worker-c", FakeLabourer()),
                        3,
                        health_metrics={"cpu": cpu_metric("db-c", LOWER_IS_BETTER, Statistics=["p90"])},
                    ),
                }
            }
        }
    )
    for name in ("worker-a", "worker-b", "worker-c"):
        store.create_tasks(name, [{"n": i} for i in range(3)])
    seed_cpu(stack, "db-c", 10)  # with data, moto's GetMetricData fails on the p90 statistic
    seed_cpu(stack, "db-a", 10)

    output = stack.run().output

    # Then the healthy labourer is invoked, and the output names each error
    assert (report_for(output, "worker-a")["status"], report_for(output, "worker-a")["invoked"]) == (4, 3)
    assert len(healthy.events) == 3
    broken = report_for(output, "worker-b")
    assert (broken["invoked"], broken.get("released", 0), broken["failed"]) == (0, 0, 3)
    assert broken["errors"] == {"Lambda.ResourceNotFoundException": 3}
    blind = report_for(output, "worker-c")
    assert (blind["status"], blind["desired"], blind["invoked"]) == (0, 0, 0)
    assert blind["set_by"] == "cpu"  # the metric that could not be read (its reading is in ComputeEcology's log)
    # a refusal for good spends the attempt and records it as failed, so the Scavenger retries the task after its
    # delay, or closes it as dead and notifies, instead of releasing it on every run for ever (issue 22, item 14)
    markers = RunMarkers.at(time.time(), duration=900, cooldown=300)
    failed = store.failed_tasks("worker-b", markers)
    assert len(failed) == 3
    assert {(task.attempts, task.attributes["result_error"]) for task in failed} == {
        (1, "Lambda.ResourceNotFoundException")
    }


def test_a_run_at_a_configured_ceiling_takes_it_and_defers_the_rest_and_its_histories_stay_small(
    stack: EmbeddedStack, store: TaskStore, orchestrator_type: str
) -> None:
    # Given an operator's ceiling (max_tasks_per_execution 600: the default is 100,000) and more queued tasks than that
    fake = FakeLabourer()
    stack.put_config(
        {
            "max_tasks_per_execution": 600,
            "task_config": {"labourers": {"worker-a": labourer_config(stack.add_function("worker-a", fake), 2000)}},
        }
    )
    store.create_tasks("worker-a", [{"n": i} for i in range(800)])

    execution = stack.run()

    # Then the ceiling is taken exactly and the rest deferred
    line = report_for(execution.output, "worker-a")
    assert (line["invoked"], line["deferred"]) == (600, 200)
    assert len(fake.events) == 600
    # and neither run-wide execution's history nor its state grows with the tasks: each child carries its group
    run_wide = [execution.parts[arn] for arn in (execution.arn, execution.invocations)]
    children = len(execution.parts) - 2
    largest = execution.largest_state_bytes()
    transitions = execution.state_transitions() / line["invoked"]
    print(
        f"\n{orchestrator_type} 600 tasks: run-wide {[len(history) for history in run_wide]} history events, "
        f"{children} child(ren), {execution.events} events in all, {execution.state_transitions()} state "
        f"transitions ({transitions:.2f}/task), largest state {largest} bytes, {execution.seconds:.1f} s"
    )
    assert all(len(history) < 100 for history in run_wide)
    assert largest < STATE_LIMIT_BYTES * 0.8
    # per task ClaimWindow, Claim and Invoke (in a child): three transitions and a few for the run
    assert transitions < 3.1


def test_the_labourer_receives_soswss_payload_contract(stack: EmbeddedStack, store: TaskStore) -> None:
    fake = FakeLabourer()
    stack.put_config(
        {"task_config": {"labourers": {"worker-a": labourer_config(stack.add_function("worker-a", fake), 1)}}}
    )
    (task,) = store.create_tasks("worker-a", [{"report": "monthly", "task_id": "spoofed", "nested": {"k": [1, 2]}}])

    stack.run()

    (event,) = fake.events
    assert event == {
        "report": "monthly",
        "nested": {"k": [1, 2]},
        "task_id": task.task_id,  # the task's own fields win over payload keys of the same name
        "labourer_id": "worker-a",
        "created_at": pytest.approx(task.created_at),
        "greenfield": task.greenfield,  # the pre-claim queue position, as sosw sends
        "attempts": 0,  # the pre-claim attempts
    }


def test_the_seed_config_runs_end_to_end(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given the seed document's config exactly as written, its labourer pointed at a local function
    fake = FakeLabourer()
    config = copy.deepcopy(SEED_CONFIG)
    config["task_config"]["labourers"]["some_function"]["arn"] = stack.add_function("worker-a", fake)
    stack.put_config(config)
    seed_cpu(stack, "YOUR-DB", 30)  # the seed's SomeDBCPU: 30 <= 50 -> Good (3)
    store.create_tasks("some_function", [{"n": i} for i in range(10)])

    output = stack.run().output

    line = report_for(output, "some_function")
    assert (line["status"], line["set_by"], line["desired"], line["invoked"]) == (3, "SomeDBCPU", 7, 7)
    assert len(fake.events) == 7


def test_a_wrong_config_fails_the_run_naming_the_path(stack: EmbeddedStack) -> None:
    stack.put_config(
        {"task_config": {"labourers": {"worker-a": {"arn": "worker-a", "max_simultanous_invocations": 2}}}}
    )

    with pytest.raises(ExecutionFailedError) as failure:
        stack.run()

    assert failure.value.execution["error"] == "ConfigError"
    assert "task_config.labourers.worker-a.max_simultanous_invocations" in failure.value.execution["cause"]


def test_every_step_accepts_the_largest_budget_of_its_workflow_type(
    stack: EmbeddedStack, store: TaskStore, orchestrator_type: str
) -> None:
    # Given the most max_tasks_per_execution a deployment allows (the same for both types: no history or state of a
    # run-wide execution bounds it): LoadConfig validates it, and every later step reads the config back
    most = task_budget.most_tasks(orchestrator_type)
    fake = FakeLabourer()
    labourers = {"worker-a": labourer_config(stack.add_function("worker-a", fake), 3)}
    stack.put_config({"task_config": {"labourers": labourers}, "max_tasks_per_execution": most})
    store.create_tasks("worker-a", [{"n": n} for n in range(5)])

    run = stack.run()
    scavenge = stack.run(state_machine="ScavengerArn")

    assert report_for(run.output, "worker-a")["invoked"] == 3
    assert scavenge.status == "SUCCEEDED"  # the Scavenger reads the same config back
    assert most == 100_000
