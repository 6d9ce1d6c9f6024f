"""A thousand labourers in one deployment: the run's state does not grow with the config, idle labourers cost no
Map iteration, and a run that meets a limit takes what fits and defers the rest (issue 15)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from benchmarks.labourers import FLEET_ARNS, health_metrics, labourer_name, seed_health
from foreman.local.deployer import ACCOUNT, REGION
from foreman.local.stack import STATE_LIMIT_BYTES, EmbeddedStack
from foreman_core.config import DEFAULT_COEFFICIENTS, Tables
from foreman_core.history_budget import EVENTS_PER_LABOURER, EVENTS_PER_RUN, EVENTS_PER_TASK
from foreman_core.run_limits import STATE_BYTES_TARGET
from foreman_core.task_store import TaskStore
from tests.statemachine.conftest import FakeLabourer, both_orchestrator_types, report_for

pytestmark = both_orchestrator_types

LABOURERS = 1000
BUSY = 50
CAP = 4
TASKS_EACH = 6
CPU_STATUS = {10.0: 4, 40.0: 3, 70.0: 2}
"""The CPU seeded for a labourer and the status its feelings give (<= 25: 4, <= 50: 3, <= 80: 2, else 0)."""


@pytest.fixture
def stack(orchestrator_type: str) -> Iterator[EmbeddedStack]:
    parameters = {"LabourerArns": FLEET_ARNS, "LogLevel": "WARNING", "OrchestratorType": orchestrator_type}
    # a config of 1,000 labourers (~800 KB) fits neither an SSM parameter (8 KB) nor a DynamoDB item (400 KB)
    with EmbeddedStack(parameters={**parameters, "ConfigBucketName": "foreman-config"}) as embedded:
        embedded.create_config_bucket()
        yield embedded


@pytest.fixture
def store(stack: EmbeddedStack) -> TaskStore:
    return TaskStore(stack.client("dynamodb"), Tables())


name = labourer_name
metrics = health_metrics


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
    assert {line["status"] for line in idle} == {0, 4}  # with data: 4; without: Bad (0), set by a metric
    assert all(line.get("set_by") for line in idle if line["status"] == 0)
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
    if orchestrator_type == "STANDARD":
        # only the busy labourers entered the Map: far below what 1,000 iterations would add
        assert execution.events <= EVENTS_PER_RUN + BUSY * EVENTS_PER_LABOURER + invoked * EVENTS_PER_TASK
        assert execution.events < LABOURERS * EVENTS_PER_LABOURER


def test_a_run_whose_tasks_would_not_fit_a_state_takes_what_fits_and_defers_the_rest(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given tasks whose ids are long (sosw accepts any string up to DynamoDB's 2,048-byte key): 300 queued, each
    # id 1,500 characters, for a labourer whose cap would take all of them in one run
    fake = FakeLabourer()
    arn = stack.add_function(name(1), fake)
    stack.put_config({"task_config": {"labourers": {name(1): {"arn": arn, "max_simultaneous_invocations": 300}}}})
    for number in range(300):
        store.create_task(name(1), {"n": number}, task_id=f"{number:04d}-" + "x" * 1495)

    execution = stack.run()

    # Then the run succeeds with what fits in a state, and reports the rest as deferred to the next run
    line = report_for(execution.output, name(1))
    assert 0 < line["invoked"] < 300
    assert line["invoked"] == len(fake.events) == line["fetched"]
    assert line["deferred"] == 300 - line["invoked"]
    assert execution.largest_state_bytes() < STATE_LIMIT_BYTES
    assert execution.largest_state_bytes() < STATE_BYTES_TARGET + 16_384
    # and the next run takes the next ones
    second = stack.run()
    assert report_for(second.output, name(1))["invoked"] == line["invoked"]
    assert len({event["task_id"] for event in fake.events}) == 2 * line["invoked"]
