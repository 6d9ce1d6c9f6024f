"""A thousand labourers in one deployment: the run's state does not grow with the config, idle labourers cost no
child execution, and neither the Orchestrator's nor the Invocations execution's history and state grow with the tasks:
the children carry them (issues 15 and 21)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from benchmarks.labourers import FLEET_ARNS, health_metrics, labourer_name, seed_health
from foreman.local.deployer import ACCOUNT, REGION
from foreman.local.stack import EmbeddedStack
from foreman_core.config import DEFAULT_COEFFICIENTS, Tables
from foreman_core.run_limits import INVOKE_TASKS_BYTES_TARGET
from foreman_core.task_store import TaskStore
from tests.statemachine.conftest import FakeLabourer, both_orchestrator_types, report_for, scavenged

LABOURERS = 1000
BUSY = 50
CAP = 4
TASKS_EACH = 6
CPU_STATUS = {10.0: 4, 40.0: 3, 70.0: 2}
"""The CPU seeded for a labourer and the status its feelings give (<= 25: 4, <= 50: 3, <= 80: 2, else 0)."""


@pytest.fixture
def labourer_arns() -> str:
    return FLEET_ARNS


@pytest.fixture
def config_bucket() -> str:
    """A config of 1,000 labourers (~900 KB) fits neither an SSM parameter (8 KB) nor a DynamoDB item (400 KB)."""
    return "foreman-config"


name = labourer_name
metrics = health_metrics


@both_orchestrator_types
def test_a_thousand_labourers_with_fifty_busy_run_in_a_small_state(
    stack: EmbeddedStack, store: TaskStore, orchestrator_type: str
) -> None:
    # Given 1,000 labourers with 3 health metrics each: data for the 50 busy ones (three CPU levels) and for 100
    # idle ones; none for the other 850 (Bad by default). 5 of the busy ones have no data and no_data_status 4.
    busy = [number * (LABOURERS // BUSY) for number in range(BUSY)]
    cpu = {number: list(CPU_STATUS)[index % len(CPU_STATUS)] for index, number in enumerate(busy[5:])}
    seed_health(stack, {**cpu, **dict.fromkeys(range(1, 200, 2), 10.0)})
    fakes = {number: FakeLabourer() for number in busy}
    labourers = {}
    for number in range(LABOURERS):
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name(number)}"
        if number in fakes:
            arn = stack.add_function(name(number), fakes[number])
        no_data = 4 if number in busy[:5] else None
        labourers[name(number)] = {"arn": arn, "max_simultaneous_invocations": CAP,
                                   "health_metrics": metrics(number, no_data_status=no_data)}  # fmt: skip
    stack.put_config({"task_config": {"labourers": labourers}})
    for number in busy:
        store.create_tasks(name(number), [{"n": n} for n in range(TASKS_EACH)])

    began = time.perf_counter()
    execution = stack.run()

    # Then every busy labourer gets its formula's invocations: floor(cap * coefficient(status)), its status set by
    # its CPU (the other two metrics are healthy) or, without data, by its no_data_status
    expected_status = {number: CPU_STATUS.get(cpu.get(number, 10.0), 0) for number in busy}
    for number in busy:
        line = report_for(execution.output, name(number))
        status = expected_status[number]
        expected = int(CAP * DEFAULT_COEFFICIENTS[status])
        assert (line["status"], line["desired"], line["invoked"]) == (status, expected, expected), line
        assert len(fakes[number].events) == expected
    # and every labourer has its line, the idle ones a short one
    lines = execution.output["labourers"]
    assert len(lines) == LABOURERS
    idle = [lines[name(number)] for number in range(LABOURERS) if number not in fakes]
    assert all(line.get("invoked", 0) == 0 and "queue" not in line for line in idle)
    # nothing waits for them: their health is not read (whatever their metrics say) and their lines are the shortest
    assert all(line == {"status": 4, "health": "not read"} for line in idle)
    # and the state stays small: the largest input or output of any state, and the history
    largest = execution.largest_state_bytes(compact=True)  # as Step Functions holds it
    spaced = execution.largest_state_bytes()  # as the embedded stack writes it (its limit is checked on this)
    invoked = sum(len(fake.events) for fake in fakes.values())
    print(
        f"\n{orchestrator_type}: {LABOURERS} labourers, {BUSY} busy, {invoked} invoked: largest state {largest:,} "
        f"bytes ({largest / LABOURERS:.0f} per labourer; {spaced:,} with the embedded stack's spaces), "
        f"{execution.events} history events, {time.perf_counter() - began:.1f} s"
    )
    assert largest < 64 * 1024
    # only the busy labourers have children (one group each), and the two run-wide executions' histories are short
    assert len(execution.parts) == 2 + BUSY
    assert all(len(execution.parts[arn]) < 100 for arn in (execution.arn, execution.invocations))


@both_orchestrator_types
def test_tasks_that_would_not_fit_one_state_are_all_invoked_in_one_run_over_several_children(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given tasks whose ids are long (sosw accepts any string up to DynamoDB's 2,048-byte key): 300 queued, each
    # id 1,500 characters (about 450 KB of ids), for a labourer whose cap would take all of them in one run
    fake = FakeLabourer()
    arn = stack.add_function(name(1), fake)
    stack.put_config({"task_config": {"labourers": {name(1): {"arn": arn, "max_simultaneous_invocations": 300}}}})
    for number in range(300):
        store.create_task(name(1), {"n": number}, task_id=f"{number:04d}-" + "x" * 1495)

    execution = stack.run()

    # Then one run invokes them all (before the Distributed Map it took what fitted one state and deferred the rest)
    line = report_for(execution.output, name(1))
    assert line["invoked"] == len(fake.events) == line["fetched"] == 300
    assert line.get("deferred", 0) == 0
    # over several children, each within its state: its InvokeTasks output (claim items beside their outcomes) is
    # what split_groups keeps within INVOKE_TASKS_BYTES_TARGET, in the spaced form the embedded stack writes
    children = [arn for arn in execution.parts if arn not in (execution.arn, execution.invocations)]
    assert len(children) >= 2
    assert execution.largest_state_bytes() <= INVOKE_TASKS_BYTES_TARGET
    # while the run-wide states hold no task id
    for arn in (execution.arn, execution.invocations):
        assert "x" * 1495 not in json.dumps(execution.parts[arn], default=str)


def test_the_scavenger_runs_over_hundreds_of_labourers_in_a_small_state(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given 300 labourers (each Map iteration carried the whole config before: from about 200 labourers on, every
    # Scavenger run failed), three of them with a task that completed and one whose task expired
    fakes = {number: FakeLabourer() for number in (0, 150, 299)}
    labourers = {}
    for number in range(300):
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name(number)}"
        if number in fakes:
            arn = stack.add_function(name(number), fakes[number])
        labourers[name(number)] = {"arn": arn, "max_simultaneous_invocations": 2, "duration": 60, "cooldown": 0,
                                   "health_metrics": metrics(number, no_data_status=4)}  # fmt: skip
    stack.put_config({"task_config": {"labourers": labourers}})
    now = time.time()
    for number in fakes:
        store.create_tasks(name(number), [{"n": 1}, {"n": 2}])
    assert stack.run({"now": now}).output["totals"]["invoked"] == 6
    for fake in fakes.values():
        first, _ = sorted(fake.task_ids)
        store.mark_completed(first)  # the other one runs on, and expires

    execution = stack.run({"now": now + 120}, state_machine="ScavengerArn")

    # Then each of the three archived its completed task and retried its expired one; the other 297, with nothing
    # to do, were not scavenged at all: one batch, one Lambda call
    lines = {line["labourer_id"]: line for line in scavenged(execution.output)}
    assert set(lines) == {name(number) for number in fakes}
    for number in fakes:
        assert (lines[name(number)]["archived"], lines[name(number)]["retried"]) == (1, 1)
    assert (execution.output["labourers"], execution.output["with_work"]) == (300, 3)
    assert [batch["totals"] for batch in execution.output["batches"]] == [
        {"batch": 0, "scavenged": 3, "archived": 3, "retried": 3}
    ]
    largest = execution.largest_state_bytes(compact=True)
    print(f"\nScavenger over 300 labourers: largest state {largest:,} bytes, {execution.events} history events")
    assert largest < 32 * 1024
    assert execution.events < 40  # no iteration for an idle labourer


LONG = "l" * 200
"""A long labourer id prefix: what travels per labourer through the Scavenger's Map is as large as it gets."""


def _with_due_retries(stack: EmbeddedStack, store: TaskStore, count: int) -> list[str]:
    """``count`` labourers with long ids, each with a retry due now: each has work for the Scavenger."""
    ids = [f"{LONG}-{number:04d}" for number in range(count)]
    labourers = {labourer_id: {"arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name(number)}",
                               "max_simultaneous_invocations": 2}
                 for number, labourer_id in enumerate(ids)}  # fmt: skip
    stack.put_config({"task_config": {"labourers": labourers}})
    for labourer_id in ids:
        store.create_delayed_task(labourer_id, {"n": 1}, not_before=time.time() - 10)
    return ids


def test_the_scavenger_state_stays_small_when_every_labourer_fails_at_once(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given 300 labourers with work, and every DynamoDB transaction refused with a long message (issue 22, item 16:
    # ~150 labourers failing at once passed 256 KiB)
    from tests.faults import dynamodb_fault

    _with_due_retries(stack, store, 300)

    with dynamodb_fault("transact_write_items", "AccessDeniedException" + "x" * 2000) as fault:
        execution = stack.run(state_machine="ScavengerArn")

    # Then the run succeeded, every labourer's failure is counted, the first lines listed with their errors cut
    assert fault.raised >= 300
    output = execution.output
    assert output["with_work"] == 300
    totals = [batch["totals"] for batch in output["batches"]]
    assert sum(batch.get("with_errors", 0) for batch in totals) == 300
    assert sum(batch.get("omitted", 0) for batch in totals) + len(scavenged(output)) == 300
    assert all(len(error) <= 300 for line in scavenged(output) for error in line["errors"])
    largest = execution.largest_state_bytes(compact=True)
    print(f"\nScavenger, 300 labourers all failing: largest state {largest:,} bytes")
    assert largest < 200 * 1024


def test_a_scavenger_batch_whose_call_fails_is_reported_without_its_cause(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given 300 labourers with work, and a ScavengeLabourers function that fails every call with a 2 KB message
    _with_due_retries(stack, store, 300)

    def broken(real: object, event: object, context: object) -> object:
        raise RuntimeError("broken " + "y" * 2000)

    stack.runtime.wrap("foreman-ScavengeLabourersFunction", broken)

    execution = stack.run(state_machine="ScavengerArn")

    # Then the run succeeded and names each failed batch, its size and its error, never the 2 KB cause
    output = execution.output
    assert scavenged(output) == []
    failed = [batch["failed"] for batch in output["batches"]]
    assert sorted(entry["batch"] for entry in failed) == list(range(30))
    assert {(entry["labourers"], entry["error"]) for entry in failed} == {(10, "RuntimeError")}
    assert len(json.dumps(output)) < 4096  # 30 failed batches, each a few bytes (the 2 KB causes are in the history)


SMALL_HISTORY = 1_500
"""A Standard history ending at 1,500 events instead of 25,000: before the Distributed Map, 23 busy labourers with a
task each filled it at their worst case."""


@pytest.fixture
def small_history() -> Iterator[EmbeddedStack]:
    """A stack whose Standard executions end at ``SMALL_HISTORY`` events."""
    parameters = {"LabourerArns": FLEET_ARNS, "LogLevel": "WARNING", "ConfigBucketName": "foreman-config"}
    with EmbeddedStack(parameters=parameters, history_events=SMALL_HISTORY) as embedded:
        embedded.create_config_bucket()
        yield embedded


def _one_task_each(stack: EmbeddedStack, labourers: int) -> dict[str, FakeLabourer]:
    fakes = {name(number): FakeLabourer() for number in range(labourers)}
    stack.put_config(
        {"task_config": {"labourers": {labourer_id: {"arn": stack.add_function(labourer_id, fake),
                                                     "max_simultaneous_invocations": 1}
                                       for labourer_id, fake in fakes.items()}}}
    )  # fmt: skip
    store = TaskStore(stack.client("dynamodb"), Tables())
    for labourer_id in fakes:
        store.create_tasks(labourer_id, [{"n": 1}])
    return fakes


def test_more_busy_labourers_than_a_history_could_hold_are_all_invoked_in_one_run(small_history: EmbeddedStack) -> None:
    # Given 60 labourers with one task each, and every invoke throttled (3 retries, then the claim is released): at
    # its worst a task costs its Map iteration and 52 events, about 3,600 for the 60, over twice the history
    fakes = _one_task_each(small_history, 60)
    for labourer_id in list(fakes)[:30]:
        small_history.runtime.add_fault(labourer_id, "TooManyRequestsException")

    execution = small_history.run()

    # Then the run succeeds with every labourer served: 30 invoked, 30 released after their retries
    assert execution.output["totals"]["invoked"] == 30
    assert execution.output["totals"]["released"] == 30
    assert {labourer_id for labourer_id, fake in fakes.items() if fake.events} == set(list(fakes)[30:])
    # each Standard execution of the run stays far below the history limit, whatever the tasks: the children (Express:
    # no history limit) carry the events the run's one history used to hold
    for arn in (execution.arn, execution.invocations):
        assert len(execution.parts[arn]) < 100
    assert execution.events > SMALL_HISTORY  # the check is not vacuous: one history would not have held the run
