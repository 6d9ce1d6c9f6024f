"""The run's guarantees where AWS differs from a kind emulator (issue 22): the run's clock is the service's, a run
stops claiming at its deadline, a redriven run claims nothing, a stopped run spends no attempt of a task it never
sent, an ambiguous invoke answer is neither retried nor released, a refusal for good spends the attempt once.

Each test runs the real Orchestrator (and Scavenger) from the real template on the embedded stack, and ends with the
conservation census: every task in exactly one place."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest

from foreman.local.deployer import Deployment
from foreman.local.stack import LOCAL_ENVIRONMENT, LOCAL_PARAMETERS, TEMPLATE, EmbeddedStack, ExecutionFailedError
from foreman_core import lease
from foreman_core.greenfield import RunMarkers
from foreman_core.lease import lease_key, read_finished
from foreman_core.task_store import TaskStore
from tests.conservation import census
from tests.faults import dynamodb_fault, index_lag, is_claim, stop_at_state
from tests.statemachine.conftest import FETCH_FUNCTION, FakeLabourer, labourer_config, report_for

LOAD_CONFIG_FUNCTION = "foreman-LoadConfigFunction"
TASKS_TABLE = "sosw_tasks"
HOUR = 3600


def _configure(stack: EmbeddedStack, fake: FakeLabourer, cap: int, **extra: Any) -> str:
    arn = stack.add_function("worker-a", fake)
    config = {"labourers": {"worker-a": labourer_config(arn, cap, duration=HOUR, cooldown=0, **extra)}}
    stack.put_config({"task_config": config})
    return arn


def _set_environment(stack: EmbeddedStack, function: str, **changes: str | None) -> None:
    """Change one function's environment (``None`` removes a variable), as a redeploy with other settings would."""
    lam = stack.client("lambda")
    variables = dict(lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"])
    for name, value in changes.items():
        if value is None:
            variables.pop(name, None)
        else:
            variables[name] = value
    lam.update_function_configuration(FunctionName=function, Environment={"Variables": variables})


def _queued(store: TaskStore) -> dict[str, int]:
    """Each queued task's attempts, by id."""
    return {task.task_id: task.attempts for task in store.next_tasks("worker-a", 10_000, start=time.time())}


def test_a_deployed_orchestrator_runs_on_the_services_clock(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given a deployment as on AWS (the input may not set the clock) and a run started with a skewed "now"
    fake = FakeLabourer()
    _configure(stack, fake, 5)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(8)])]
    # (set, not removed: the embedded stack's functions share one process environment, which keeps the other
    # functions' variables; LoadConfig's own value is put in place as it is invoked)
    _set_environment(stack, LOAD_CONFIG_FUNCTION, FOREMAN_CLOCK_FROM_INPUT="false")

    # When it starts, an hour ahead
    with pytest.raises(ExecutionFailedError) as failed:
        stack.run({"now": time.time() + HOUR})

    # Then it fails at LoadConfig naming the field, and claims nothing; the same run without it invokes the cap
    assert failed.value.execution["error"] == "RunInputError"
    assert "input.now" in failed.value.execution["cause"]
    assert fake.events == []
    assert _queued(store) == dict.fromkeys(created, 0)
    assert report_for(stack.run().output, "worker-a")["invoked"] == 5
    census(stack.client("dynamodb"), created, now=time.time())


def test_a_run_claims_nothing_after_its_claim_deadline(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given a claim window of one second and a fetch that hands over only after it (a run slowed down)
    fake = FakeLabourer()
    _configure(stack, fake, 4)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(4)])]
    _set_environment(stack, LOAD_CONFIG_FUNCTION, CLAIM_WINDOW_SECONDS="1")

    def slow_fetch(real: Any, event: Any, context: Any) -> Any:
        result = real(event, context)
        time.sleep(2.5)  # past the deadline: one second after LoadConfig, rounded up to a whole second
        return result

    stack.runtime.wrap(FETCH_FUNCTION, slow_fetch)

    # When it runs
    output = stack.run().output

    # Then every task it fetched is late: not claimed, not invoked, still queued as it was, deferred to the next run
    line = report_for(output, "worker-a")
    assert (line["fetched"], line["late"], line["invoked"], line["deferred"]) == (4, 4, 0, 4)
    assert fake.events == []
    assert _queued(store) == dict.fromkeys(created, 0)
    assert output["lease"]["returned"] is True
    census(stack.client("dynamodb"), created, now=time.time())


@contextmanager
def redriven() -> Iterator[None]:
    """Every execution started in the block runs as a redriven one does: ``$$.Execution.RedriveCount`` is 1 (the
    embedded stack's RedriveExecution re-runs only the states that did not succeed; this runs the whole definition
    redriven, so that every state that could claim meets the guard)."""
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = ExecutionWorker._get_evaluation_environment

    def environment(self: Any) -> Any:
        env = original(self)
        env.states.context_object.context_object_data["Execution"]["RedriveCount"] = 1
        return env

    with mock.patch.object(ExecutionWorker, "_get_evaluation_environment", environment):
        yield


def _without_the_redrive_choice(stack: EmbeddedStack) -> None:
    """Deploy the Invocations state machine with ClaimWindow's redrive rule taken out: only the Claim's own guard is
    left (what a redrive that resumes an iteration at its Claim state meets)."""
    sfn = stack.client("stepfunctions")
    arn = str(stack.outputs["InvocationsArn"])
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    per_task = definition["States"]["InvokeLabourers"]["ItemProcessor"]["States"]["InvokeTasks"]["ItemProcessor"]
    window = per_task["States"]["ClaimWindow"]
    window["Choices"] = [rule for rule in window["Choices"] if "redrive_count" not in rule["Variable"]]
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(definition))


def _running_invocations(stack: EmbeddedStack) -> str:
    """The run's Invocations execution while it runs (one run at a time here): what an operator would stop."""
    sfn = stack.client("stepfunctions")
    deadline = time.time() + 120
    while time.time() < deadline:
        running = sfn.list_executions(stateMachineArn=str(stack.outputs["InvocationsArn"]), statusFilter="RUNNING")
        if running["executions"]:
            return str(running["executions"][0]["executionArn"])
        time.sleep(0.05)
    raise AssertionError("no Invocations execution ran")


@pytest.mark.parametrize("guard", ["ClaimWindow", "Claim"])
def test_a_redriven_execution_claims_nothing(stack: EmbeddedStack, store: TaskStore, guard: str) -> None:
    # Given queued tasks and an execution running redriven (its first attempt's clock and lease are gone)
    fake = FakeLabourer()
    _configure(stack, fake, 4)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(4)])]
    if guard == "Claim":
        _without_the_redrive_choice(stack)

    # When it runs
    with redriven():
        output = stack.run().output

    # Then it claimed and invoked nothing, left every task as it was, and is not recorded as a finished run
    line = report_for(output, "worker-a")
    assert line["invoked"] == 0
    if guard == "ClaimWindow":
        assert line["redriven"] == 4
    else:  # the Claim's own guard: no task lies below a redriven run's start
        assert line["skipped"] == 4
    assert fake.events == []
    assert _queued(store) == dict.fromkeys(created, 0)
    assert read_finished(stack.client("dynamodb"), TASKS_TABLE).runs == {}
    census(stack.client("dynamodb"), created, now=time.time())


def _stop_once_invoking(stack: EmbeddedStack, fake: FakeLabourer, *, after: int) -> str:
    """Start a run and stop it (StopExecution of its Invocations execution, which stops its children) once the
    labourer has ``after`` events; returns the stopped execution's ARN when it has ended."""
    sfn = stack.client("stepfunctions")
    stack.start("OrchestratorArn", {})
    execution = _running_invocations(stack)
    deadline = time.time() + 120
    while len(fake.events) < after and time.time() < deadline:
        time.sleep(0.05)
    sfn.stop_execution(executionArn=execution, error="Operator", cause="stopped mid-Map by the test")
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING" and time.time() < deadline:
        time.sleep(0.1)
    return execution


def test_a_stopped_run_spends_no_attempt_and_announces_no_death(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given 120 tasks of a labourer allowed one attempt, and a run stopped while it claims and invokes them
    fake = FakeLabourer(work_seconds=0.3)
    _configure(stack, fake, 200, max_attempts=1)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(120)])]
    execution = _stop_once_invoking(stack, fake, after=20)
    time.sleep(1)  # an invoke under way when it stopped ends
    status = stack.client("stepfunctions").describe_execution(executionArn=execution)["status"]
    claimed = store.count_running("worker-a", RunMarkers.at(time.time(), duration=HOUR, cooldown=0))
    sent = {event["task_id"] for event in fake.events}
    assert status != "SUCCEEDED"
    assert 0 < len(sent) < claimed <= 120  # some claimed tasks were never sent

    # When the Scavenger runs after they expired
    later = time.time() + HOUR + 60
    output = stack.run({"now": later}, state_machine="ScavengerArn").output
    ((line,),) = [batch["labourers"] for batch in output["batches"]]

    # Then none died and none was announced: every claimed task went back to its queue with the attempts it had
    assert (line.get("dead", 0), line.get("retried", 0), line["returned_unsent"]) == (0, 0, claimed)
    assert line.get("errors", []) == []
    assert _queued(store) == dict.fromkeys(created, 0)
    census(stack.client("dynamodb"), created, now=later)

    # And, once the stopped run's lease has expired, the next run sends each at its first attempt: a task the stopped
    # run had sent may arrive twice with the same attempt (delivery is at least once: the labourer drops the second
    # on task_id + attempts)
    stack.client("dynamodb").update_item(
        TableName=TASKS_TABLE,
        Key=lease_key(),
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    fake.events.clear()
    assert report_for(stack.run().output, "worker-a")["invoked"] == 120
    assert {event["attempts"] for event in fake.events} == {0}


def test_an_ambiguous_invoke_answer_is_neither_retried_nor_released(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given invokes that Lambda queues and whose answer is lost (a 5xx after the event was taken)
    fake = FakeLabourer()
    _configure(stack, fake, 3)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(3)])]
    stack.runtime.add_fault("worker-a", "ServiceException", status=500, after_delivery=True)

    # When two runs go by
    first = report_for(stack.run().output, "worker-a")
    second = report_for(stack.run().output, "worker-a")

    # Then each task was sent once, the run says it is unsure of each, and none was put back to be sent again:
    # Foreman never sends one attempt twice by its own retry
    assert sorted(event["task_id"] for event in fake.events) == sorted(created)
    assert (first["invoked"], first["unsure"], first.get("released", 0)) == (0, 3, 0)
    assert first["errors"] == {"Lambda.ServiceException": 3}
    assert (second["running"], second["desired"], second["invoked"]) == (3, 0, 0)
    census(stack.client("dynamodb"), created, now=time.time())


def test_a_throttled_invoke_is_released_and_sent_by_the_next_run(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given invokes that Lambda refuses, throttled, on every try of one run
    fake = FakeLabourer()
    _configure(stack, fake, 3)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(3)])]
    stack.runtime.add_fault("worker-a", "TooManyRequestsException", status=429, times=12)  # 3 tasks x 4 tries

    # When two runs go by
    first = report_for(stack.run().output, "worker-a")
    second = report_for(stack.run().output, "worker-a")

    # Then the first put every task back as it was (no attempt spent) and the second sent each once, first attempt
    assert (first["invoked"], first["released"]) == (0, 3)
    assert second["invoked"] == 3
    assert sorted((event["task_id"], event["attempts"]) for event in fake.events) == sorted(
        (task_id, 0) for task_id in created
    )
    census(stack.client("dynamodb"), created, now=time.time())


@pytest.mark.parametrize("record", [True, False])
def test_an_index_lagging_the_last_claims_never_lets_the_next_run_pass_the_cap(
    stack: EmbeddedStack, store: TaskStore, record: bool
) -> None:
    # Given a labourer with cap 5 whose tasks never complete, and a greenfield index that lags every write by a minute
    fake = FakeLabourer()
    _configure(stack, fake, 5)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(12)])]
    with index_lag(60) as written, _lease_record(record):
        # When one run claims 5, gives the lease back, and the next takes it at once
        first = report_for(stack.run().output, "worker-a")
        second = report_for(stack.run().output, "worker-a")

    # Then the next run counted the first one's claims, which its index did not show yet, and invoked nothing more
    assert first["invoked"] == 5
    assert len(written) >= 5
    if record:
        assert (second["running"], second["desired"], second["invoked"]) == (5, 0, 0)
        assert len(fake.events) == 5
    else:  # without the lease's record of the last claims, the lagging index lets the cap be passed
        assert second["invoked"] == 5
        assert len(fake.events) == 10
    census(stack.client("dynamodb"), created, now=time.time())


@contextmanager
def _lease_record(kept: bool) -> Iterator[None]:
    """As shipped (``kept``), or with the lease's record of the previous holder's claims ignored (the mutation that
    shows what the record is for)."""
    if kept:
        yield
        return
    with mock.patch("foreman_core.lease._previous", return_value=None):
        yield


def test_tasks_of_a_function_that_does_not_exist_are_closed_as_dead_once_out_of_attempts(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given a labourer whose function does not exist (a typo, or deleted), allowed one attempt
    missing = "arn:aws:lambda:us-east-1:123456789012:function:worker-b"
    stack.put_config({"task_config": {"labourers": {"worker-b": labourer_config(missing, 3, max_attempts=1)}}})
    created = [task.task_id for task in store.create_tasks("worker-b", [{"n": i} for i in range(3)])]

    # When a run tries them, then the Scavenger runs
    line = report_for(stack.run().output, "worker-b")
    scavenged = [
        line for batch in stack.run(state_machine="ScavengerArn").output["batches"] for line in batch["labourers"]
    ]

    # Then the run spent each attempt and said why; the Scavenger closed them as dead (and notified), instead of the
    # tasks being released on every run for ever with attempts 0
    assert (line["invoked"], line["failed"], line["errors"]) == (0, 3, {"Lambda.ResourceNotFoundException": 3})
    (report,) = scavenged
    assert (report["dead"], report.get("retried", 0), report["failures_reported"]) == (3, 0, 3)
    states = census(stack.client("dynamodb"), created, now=time.time()).states
    assert set(states.values()) == {"closed-dead"}


def test_a_run_stopped_mid_map_and_redriven_claims_nothing_more(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given a run stopped as its 3rd claim starts (two tasks claimed and sent, the rest still queued)
    fake = FakeLabourer()
    _configure(stack, fake, 10)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(10)])]
    with stop_at_state(
        "Claim", nth=3, error="Operator", cause="stopped mid-Map", target=lambda child: _running_invocations(stack)
    ) as stopped:
        handed = stack.wait(stack.start("OrchestratorArn", {}), follow=False).output
        execution = handed["invocations"]
        first = stack.wait(execution, check=False)
    assert stopped.raised == 1
    assert first.status == "ABORTED"
    time.sleep(1)  # a claim or invoke a child had under way when the run stopped ends (as the stopped-run test waits)
    sent = len(fake.events)
    queued_before = _queued(store)

    # When an operator redrives it (RedriveExecution: same ARN, the failed states again with their old input)
    sfn = stack.client("stepfunctions")
    sfn.redrive_execution(executionArn=execution)
    redriven = stack.wait(execution, check=False)

    # Then the redriven run claimed and sent nothing more, and every task is where the stopped run left it
    assert sfn.describe_execution(executionArn=execution)["redriveCount"] == 1
    assert len(fake.events) == sent
    assert _queued(store) == queued_before
    assert redriven.status == "SUCCEEDED"
    line = report_for(redriven.output, "worker-a")
    assert line["invoked"] == 0
    assert read_finished(stack.client("dynamodb"), TASKS_TABLE).runs == {}  # not a finished run: its claims may be
    census(stack.client("dynamodb"), created, now=time.time())  # unsent; the Scavenger gives their attempts back


def test_a_claim_applied_whose_answer_is_lost_on_every_try_is_reported_released(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given claims that DynamoDB applies but whose answer is lost on every try (an InternalServerError after the fact)
    fake = FakeLabourer()
    _configure(stack, fake, 3)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(3)])]

    with dynamodb_fault("update_item", "InternalServerError", when=is_claim, status=500, applied=True) as lost:
        line = report_for(stack.run().output, "worker-a")

    # Then the run undid each claim it could not confirm and says so: released, not failed, and the tasks are queued as
    # they were (before, it reported them failed while they sat claimed until the Scavenger)
    assert lost.raised == 3 * 5  # each claim and its four retries applied, every answer lost
    assert (line["invoked"], line["released"], line.get("failed", 0)) == (0, 3, 0)
    assert fake.events == []
    assert _queued(store) == dict.fromkeys(created, 0)
    census(stack.client("dynamodb"), created, now=time.time())


def test_an_ecology_step_that_dies_without_giving_the_lease_back_has_it_given_back_by_the_state_machine(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given a ComputeEcology that takes the lease and then dies outside its own code (a timeout, out of memory): its
    # handler's own clean-up never runs
    _configure(stack, FakeLabourer(), 3)
    store.create_tasks("worker-a", [{"n": 1}])

    def dies_after(real: Any, event: Any, context: Any) -> Any:
        real(event, context)
        raise TimeoutError("Task timed out after 60.00 seconds")

    stack.runtime.wrap("foreman-ComputeEcologyFunction", dies_after)
    with pytest.raises(ExecutionFailedError):
        stack.run()

    # Then the run failed and the lease was given back by ReturnLeaseAfterFailure: the next run is not blocked 360 s
    item = stack.client("dynamodb").get_item(TableName=TASKS_TABLE, Key=lease_key(), ConsistentRead=True)["Item"]
    assert "run" not in item  # nobody holds it
    assert item["last_run"]["S"].startswith("run-")


def test_an_execution_run_twice_under_one_name_cannot_pass_for_the_run_that_took_the_lease(
    stack: EmbeddedStack,
) -> None:
    # Given an Express execution that AWS runs twice (at-least-once): both copies carry the same execution ARN, and
    # each LoadConfig makes its own run id
    client = stack.client("dynamodb")
    execution = "arn:aws:states:us-east-1:123456789012:express:foreman-Orchestrator:tick:copy"
    now = time.time()
    first = lease.take(client, TASKS_TABLE, run="run-first", execution=execution, now=now, seconds=60)
    second = lease.take(client, TASKS_TABLE, run="run-second", execution=execution, now=now + 1, seconds=60)

    # Then the second copy is busy (before, the owner was the execution, and the copy passed as the holder)
    assert first.held
    assert not second.held
    assert lease.give_back(client, TASKS_TABLE, run="run-second", now=now + 2) is False


def test_a_second_deployment_on_the_same_tables_shares_the_lease(stack: EmbeddedStack, store: TaskStore) -> None:
    # Given a second Foreman stack deployed on the same tables (CreateTables=false), the same config, and a run of the
    # first stack holding the lease (mid-run: counting and claiming)
    fake = FakeLabourer()
    _configure(stack, fake, 5)
    created = [task.task_id for task in store.create_tasks("worker-a", [{"n": i} for i in range(8)])]
    second = Deployment(
        TEMPLATE,
        clients=stack.client,
        parameters={**LOCAL_PARAMETERS, **stack.parameters, "CreateTables": "false"},
        stack_name="second",
        environment=LOCAL_ENVIRONMENT,
    ).deploy()
    for name, (code_dir, handler) in second.code.items():
        stack.runtime.add_code(name, code_dir, handler)
    holder = "arn:aws:states:us-east-1:123456789012:execution:foreman-Orchestrator:mid-run"
    assert lease.take(
        stack.client("dynamodb"), TASKS_TABLE, run="run-first", execution=holder, now=time.time(), seconds=60
    ).held

    # When the second stack runs
    sfn = stack.client("stepfunctions")
    started = sfn.start_execution(stateMachineArn=str(second.outputs["OrchestratorArn"]), input="{}")["executionArn"]
    output = stack.wait(started).output

    # Then it finds the first stack's run holding the lease and claims nothing: two stacks on one set of tables keep
    # each labourer's cap together (before, each stack had its own lease and both filled the same free slots)
    assert output["lease"]["held"] is False
    assert output["lease"]["holder"] == holder
    assert report_for(output, "worker-a")["invoked"] == 0
    assert fake.events == []
    census(stack.client("dynamodb"), created, now=time.time())
