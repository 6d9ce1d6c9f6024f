"""Fixtures for tests that execute the real state machines of the real ``template.yaml`` on the embedded stack."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from foreman.local.deployer import ACCOUNT, REGION
from foreman.local.stack import EmbeddedStack
from foreman_core.config import Tables
from foreman_core.report_line import LEFT_OUT, line_value
from foreman_core.run import TOTALLED
from foreman_core.task_store import TaskStore

LABOURER_NAMES = ("worker-a", "worker-b", "worker-c", "worker-d")
LABOURER_ARNS = ",".join(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}" for name in LABOURER_NAMES)


@dataclass
class FakeLabourer:
    """A labourer Lambda that records every event it gets; ``work_seconds`` keeps each call in flight a while."""

    work_seconds: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, str]:
        if self.work_seconds:
            time.sleep(self.work_seconds)
        with self._lock:
            self.events.append(event)
        return {"ok": "yes"}

    @property
    def task_ids(self) -> list[str]:
        with self._lock:
            return [event["task_id"] for event in self.events]


ORCHESTRATOR_TYPES = ("STANDARD", "EXPRESS")
"""The template's ``OrchestratorType`` values. A module about the Orchestrator runs every test on both with
``pytestmark = both_orchestrator_types``; the others run on the default (Standard)."""

both_orchestrator_types = pytest.mark.parametrize("orchestrator_type", ORCHESTRATOR_TYPES)


@pytest.fixture
def orchestrator_type() -> str:
    """The Orchestrator's workflow type for ``stack`` (the template's default unless the module parametrizes it)."""
    return "STANDARD"


@pytest.fixture
def labourer_arns() -> str:
    """The stack's ``LabourerArns`` (a module may override it, e.g. with a name prefix for many labourers)."""
    return LABOURER_ARNS


@pytest.fixture
def config_bucket() -> str | None:
    """The stack's ``ConfigBucketName``: ``None`` keeps the config in SSM; a module with large configs names a
    bucket (created versioned) instead."""
    return None


@pytest.fixture
def stack(orchestrator_type: str, labourer_arns: str, config_bucket: str | None) -> Iterator[EmbeddedStack]:
    """Foreman deployed from template.yaml on in-process moto, Lambda steps running the real handlers."""
    parameters = {"LabourerArns": labourer_arns, "LogLevel": "WARNING", "OrchestratorType": orchestrator_type}
    if config_bucket is not None:
        parameters["ConfigBucketName"] = config_bucket
    with EmbeddedStack(parameters=parameters) as embedded:
        if config_bucket is not None:
            embedded.create_config_bucket()
        yield embedded


@pytest.fixture
def store(stack: EmbeddedStack) -> TaskStore:
    """The task store on the stack's tables."""
    return TaskStore(stack.client("dynamodb"), Tables())


def labourer_config(arn: str, cap: int, **extra: Any) -> dict[str, Any]:
    """One labourer's config, sosw's shape."""
    return {"arn": arn, "max_simultaneous_invocations": cap, **extra}


def cpu_metric(instance: str, feelings: dict[Any, float], operator: str = "<=", **details: Any) -> dict[str, Any]:
    """A health metric on an RDS instance's CPU, sosw's shape."""
    return {
        "details": {
            "MetricName": "CPUUtilization",
            "Namespace": "AWS/RDS",
            "Period": 60,
            "Statistics": ["Average"],
            "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": instance}],
            **details,
        },
        "feelings": feelings,
        "feeling_comparison_operator": operator,
    }


def seed_cpu(stack: EmbeddedStack, instance: str, value: float) -> None:
    """Put an RDS CPU datapoint a minute ago (inside the default 300 s window)."""
    stack.client("cloudwatch").put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": instance}],
                "Timestamp": datetime.now(tz=UTC) - timedelta(seconds=60),
                "Value": value,
            }
        ],
    )


FETCH_FUNCTION = "foreman-FetchGreenfieldTasksFunction"
"""The FetchGreenfieldTasks step's function on the embedded stack."""


def hold_after_fetch(stack: EmbeddedStack, executions: int) -> None:
    """Hold each execution after FetchGreenfieldTasks until ``executions`` of them have fetched: they then all race
    for the same tasks' claims (the real handler runs; only the hand-over to the next state waits)."""
    barrier = threading.Barrier(executions, timeout=120)

    def fetch_then_wait(real: Any, event: Any, context: Any) -> Any:
        result = real(event, context)
        barrier.wait()
        return result

    stack.runtime.wrap(FETCH_FUNCTION, fetch_then_wait)


def scavenged(output: dict[str, Any]) -> list[dict[str, Any]]:
    """The Scavenger's output's labourer lines (those listed in its batches' reports), in batch order."""
    return [line for batch in output["batches"] for line in batch["labourers"]]


def report_for(output: dict[str, Any], labourer_id: str) -> dict[str, Any]:
    """One labourer's line of the Orchestrator's output, with its id, every left-out field at what leaving it out
    means (``report_line.line_value``), and ``busy``: the lease's holder when the run found it held by another."""
    if labourer_id not in output["labourers"]:
        raise AssertionError(f"no report for {labourer_id}: {output}")
    line = output["labourers"][labourer_id]
    full = {key: line_value(line, key) for key in (*TOTALLED, *LEFT_OUT, "running", "set_aside_more")}
    lease = output.get("lease") or {}  # a busy run (the lease held by another) is busy for every labourer
    busy = None if lease.get("held", True) else {"holder": lease.get("holder"), "until": lease.get("expires_at")}
    return {"labourer_id": labourer_id, **full, **line, "busy": busy}
