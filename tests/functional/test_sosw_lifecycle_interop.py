"""sosw 0.7.51 and Foreman closing the lifecycle on the same tables, each finishing what the other started.

- A task Foreman's Orchestrator invoked, on a Worker written for sosw that reports through sosw's own WorkerAssistant,
  is archived by Foreman's Scavenger.
- A task Foreman invoked that timed out is retried by sosw's own Scavenger (moved to the retry table with sosw's
  delay, then re-queued), and Foreman's Orchestrator invokes it again; a task Foreman created delayed is re-queued
  by sosw's Scavenger the same way.

Everything runs on the embedded stack: Foreman's real state machines, and sosw's classes calling the same moto. sosw
reads the clock from ``sosw.managers.task.time``, which the test points at its simulated clock; Foreman's runs get
the same clock as ``now`` in their execution input.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import sosw.managers.task as sosw_task_module
from sosw.scavenger import Scavenger as SoswScavenger
from sosw.worker import Worker
from sosw.worker_assistant import WorkerAssistant

from foreman.local.deployer import ACCOUNT, REGION
from foreman.local.stack import EmbeddedStack
from foreman_core.config import Tables
from foreman_core.task_store import TaskStore
from tests.builders import FakeClock, payload
from tests.conservation import CLOSED_COMPLETED, QUEUED, RETRY_WAITING, RUNNING, assert_conserved
from tests.sosw_context import sosw_lambda_context
from tests.statemachine.conftest import FakeLabourer, report_for

LAB = "worker-a"
LAB_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{LAB}"
NO_META = {"meta_handler_config": {"write_meta_to_ddb": False}}


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedStack]:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "sosw_interop_test")
    with (
        sosw_lambda_context("sosw_interop_test"),
        EmbeddedStack(parameters={"LabourerArns": LAB_ARN, "LogLevel": "WARNING"}) as embedded,
    ):
        yield embedded


class CountingWorker(Worker):
    """A labourer written for sosw: does its work, then ``Worker.__call__`` reports to sosw's WorkerAssistant."""

    def __call__(self, event: dict[str, Any], reset_result: bool = True) -> None:
        self.stats["rows"] += 10
        super().__call__(event, reset_result=reset_result)


def test_a_task_completed_by_sosws_worker_assistant_is_archived_by_foremans_scavenger(stack: EmbeddedStack) -> None:
    def sosw_worker_assistant(event: dict[str, Any], context: Any) -> Any:
        return WorkerAssistant(custom_config=NO_META)(event)

    def labourer(event: dict[str, Any], context: Any) -> None:
        CountingWorker(custom_config={"sosw_worker_assistant_lambda": "sosw_worker_assistant"})(event)

    stack.add_function("sosw_worker_assistant", sosw_worker_assistant)
    arn = stack.add_function(LAB, labourer)
    stack.put_config({"task_config": {"labourers": {LAB: {"arn": arn, "max_simultaneous_invocations": 5}}}})
    store = TaskStore(stack.client("dynamodb"), Tables())
    ids = [task.task_id for task in store.create_tasks(LAB, [payload(n) for n in range(3)])]
    now = time.time()

    assert report_for(stack.run({"now": now}).output, LAB)["invoked"] == 3
    assert len(stack.runtime.calls("sosw_worker_assistant")) == 3
    assert_conserved(stack.client("dynamodb"), ids, now=now, expected={"completed": 3})

    output = stack.run({"now": now + 5}, state_machine="ScavengerArn").output
    (line,) = [line for batch in output["batches"] for line in batch["labourers"]]

    assert (line["archived"], line.get("errors", [])) == (3, [])
    census = assert_conserved(stack.client("dynamodb"), ids, now=now + 5, expected={CLOSED_COMPLETED: 3})
    for number, task_id in enumerate(ids):
        row = census.items[task_id]
        assert row["labourer_id_task_status"] == f"{LAB}_1"
        assert row["stat_rows"] == 10  # written by sosw's WorkerAssistant
        assert json.loads(row["payload"]) == payload(number)


def test_a_task_retried_by_sosws_scavenger_is_invoked_by_foremans_orchestrator(
    stack: EmbeddedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(float(int(time.time())))
    start = clock.now
    monkeypatch.setattr(sosw_task_module, "time", SimpleNamespace(time=clock, sleep=lambda seconds: None))
    fake = FakeLabourer()  # runs, never reports: its task times out
    arn = stack.add_function(LAB, fake, timeout=60)
    stack.put_config({"task_config": {"labourers": {LAB: {"arn": arn, "max_simultaneous_invocations": 5}}}})
    store = TaskStore(stack.client("dynamodb"), Tables(), clock=clock)
    (task,) = store.create_tasks(LAB, [payload(1)])
    delayed = store.create_delayed_task(LAB, payload(2), not_before=start + 1350)
    ids = [task.task_id, delayed.task_id]
    sosw_scavenger = SoswScavenger(
        custom_config={
            **NO_META,
            "task_config": {"labourers": {LAB: {"arn": arn, "max_simultaneous_invocations": 5}}},
            "sns_config": {"recipient": stack.outputs["DeadTasksTopicArn"], "subject": "sosw"},
        }
    )

    assert report_for(stack.run({"now": clock.now}).output, LAB)["invoked"] == 1
    assert_conserved(stack.client("dynamodb"), ids, now=clock.now, expected={RUNNING: 1, RETRY_WAITING: 1})

    clock.advance(1300)  # past sosw's fixed 1200 s expiry
    sosw_scavenger()  # sosw: expired -> retry table, delay = max_duration (the function's Timeout, 60) x attempts (1)
    retry_rows = {
        row.task_id: row.attributes["desired_launch_time"]
        for row in (store.locate(task_id, labourer_id=LAB).task for task_id in ids)
        if row is not None
    }
    assert retry_rows == {task.task_id: int(start) + 1300 + 60, delayed.task_id: int(start) + 1350}
    assert_conserved(stack.client("dynamodb"), ids, now=clock.now, expected={RETRY_WAITING: 2})

    clock.advance(100)
    sosw_scavenger()  # sosw: both due -> back in the queue (greenfield 999, 998)
    assert_conserved(stack.client("dynamodb"), ids, now=clock.now, expected={QUEUED: 2})
    clock.advance(1)

    line = report_for(stack.run({"now": clock.now}).output, LAB)

    assert line["invoked"] == 2
    again = {event["task_id"]: event for event in fake.events[1:]}
    assert set(again) == set(ids)
    assert again[task.task_id]["attempts"] == 1  # its second invocation: sosw's payload contract, pre-claim attempts
    assert again[delayed.task_id]["attempts"] == 0
    assert {again[task_id]["greenfield"] for task_id in ids} == {999, 998}
    census = assert_conserved(stack.client("dynamodb"), ids, now=clock.now, expected={RUNNING: 2})
    assert census.items[task.task_id]["attempts"] == 2
