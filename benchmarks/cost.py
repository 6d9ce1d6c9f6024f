"""What Foreman costs per million tasks on a Standard and on an Express Orchestrator, from one run's own figures.

Each measurement deploys the real template on the embedded stack with ``OrchestratorType`` set, queues ``tasks``
tasks for one labourer whose cap lets the run take them all, and runs the Orchestrator once. From that run:

- Standard: the state transitions it made (its ``*StateEntered`` events), at $0.025 per 1,000.
- Express: one request, and its billed duration and memory as StartSyncExecution reports them (duration on the
  embedded stack, slower than AWS, so an upper bound; memory at the 64 MB minimum), at $1.00 per million requests
  and $0.00001667 per GB-second; and its log at level ALL with execution data (the template's logging for Express):
  every history event as one CloudWatch Logs record in Step Functions' log format, at $0.50 per GB ingested.
- Both: the Lambda steps (4 requests a run, 0.2 s each at 256 MB, the docs' assumption), and DynamoDB: 3 write units
  a claim (table and index), 2 a run for the lease, about 5 read units a run.

A run's cost divided by its tasks, times a million, is the cost per million tasks at that many tasks a run. Prices
are us-east-1 list prices (check the pricing pages); free tiers are ignored. docs/cost.md explains the model.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

STANDARD_TRANSITION = 0.025 / 1000
EXPRESS_REQUEST = 1.00 / 1_000_000
EXPRESS_GB_SECOND = 0.00001667
LOGS_PER_GB = 0.50
LAMBDA_REQUEST = 0.20 / 1_000_000
LAMBDA_GB_SECOND = 0.0000133334  # arm64
LAMBDA_STEPS_PER_RUN = 4
LAMBDA_STEP_SECONDS = 0.2
LAMBDA_STEP_GB = 0.25
WRITE_UNIT = 0.625 / 1_000_000
READ_UNIT = 0.125 / 1_000_000
WRITE_UNITS_PER_TASK = 3
WRITE_UNITS_PER_RUN = 2  # the lease: take and give back
READ_UNITS_PER_RUN = 5
"""A run's read units where a run did not report them (its ``read_units``: the measured runs do)."""
GB = 1024**3

EXPRESS_SECONDS = 300
STATE_LIMIT = 256 * 1024

LABOURER = "cost-labourer"


@dataclass(frozen=True)
class CostRun:
    """One Orchestrator run's own figures, and what they cost."""

    orchestrator_type: str
    tasks: int
    transitions: int
    events: int
    log_bytes: int
    billed_ms: int
    billed_mb: int
    largest_state_bytes: int
    seconds: float
    read_units: float = READ_UNITS_PER_RUN
    """The read capacity units the run reported (``read_units.total``: as DynamoDB charges them)."""

    @property
    def step_functions(self) -> float:
        """Step Functions' own charge for the run (transitions; or request, duration and the ALL-level log)."""
        if self.orchestrator_type == "STANDARD":
            return self.transitions * STANDARD_TRANSITION
        gb_seconds = (self.billed_ms / 1000) * (self.billed_mb / 1024)
        return EXPRESS_REQUEST + gb_seconds * EXPRESS_GB_SECOND + self.logs

    @property
    def logs(self) -> float:
        """The run's execution log (Express, level ALL with data); Standard logs only errors (about nothing)."""
        return self.log_bytes / GB * LOGS_PER_GB if self.orchestrator_type == "EXPRESS" else 0.0

    @property
    def the_rest(self) -> float:
        """What is the same for both types: the Lambda steps and DynamoDB."""
        lambda_steps = LAMBDA_STEPS_PER_RUN * (LAMBDA_REQUEST + LAMBDA_STEP_SECONDS * LAMBDA_STEP_GB * LAMBDA_GB_SECOND)
        writes = (WRITE_UNITS_PER_TASK * self.tasks + WRITE_UNITS_PER_RUN) * WRITE_UNIT
        return lambda_steps + writes + self.read_units * READ_UNIT

    def per_million_tasks(self, cost: float) -> float:
        return cost * 1_000_000 / self.tasks

    def figures(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "step_functions_per_million_tasks": round(self.per_million_tasks(self.step_functions), 2),
            "logs_per_million_tasks": round(self.per_million_tasks(self.logs), 2),
            "total_per_million_tasks": round(self.per_million_tasks(self.step_functions + self.the_rest), 2),
        }


def log_record_bytes(event: dict[str, Any], execution_arn: str) -> int:
    """One history event as Step Functions writes it to CloudWatch Logs (its log format: id, type, details,
    previous_event_id, event_timestamp, execution_arn, redrive_count), in UTF-8 bytes."""
    details = next((value for key, value in event.items() if key.endswith("EventDetails")), {})
    record = {
        "id": str(event.get("id")),
        "type": str(event.get("type")),
        "details": details,
        "previous_event_id": str(event.get("previousEventId", 0)),
        "event_timestamp": str(int(time.time() * 1000)),
        "execution_arn": execution_arn,
        "redrive_count": "0",
    }
    return len(json.dumps(record, default=str).encode())


def measure(orchestrator_type: str, tasks: int) -> CostRun:
    """One run of ``tasks`` tasks on a fresh embedded stack deployed with ``OrchestratorType=orchestrator_type``."""
    from foreman.local.stack import EmbeddedStack
    from foreman_core.config import Tables
    from foreman_core.task_store import TaskStore

    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{LABOURER}"
    parameters = {"LabourerArns": arn, "LogLevel": "ERROR", "OrchestratorType": orchestrator_type}
    with EmbeddedStack(parameters=parameters) as stack:
        stack.add_function(LABOURER, lambda event, context: {"ok": True})
        labourers = {LABOURER: {"arn": arn, "max_simultaneous_invocations": tasks}}
        stack.put_config({"task_config": {"labourers": labourers}, "max_tasks_per_execution": tasks})
        TaskStore(stack.client("dynamodb"), Tables()).create_tasks(LABOURER, [{"n": n} for n in range(tasks)])
        began = time.perf_counter()
        if orchestrator_type == "EXPRESS":
            answer = stack.client("stepfunctions").start_sync_execution(
                stateMachineArn=stack.outputs["OrchestratorArn"], input="{}"
            )
            billed = answer["billingDetails"]
            billed_ms, billed_mb = int(billed["billedDurationInMilliseconds"]), int(billed["billedMemoryUsedInMB"])
            execution = stack.wait(answer["executionArn"])  # what its log at level ALL holds
        else:
            execution = stack.run()
            billed_ms, billed_mb = 0, 0
        seconds = time.perf_counter() - began
        (line,) = execution.output["labourers"].values()
        if line.get("invoked", 0) != tasks:
            raise RuntimeError(
                f"{orchestrator_type}: the run invoked {line.get('invoked', 0)} of {tasks} tasks: {line}"
            )
        return CostRun(
            orchestrator_type=orchestrator_type,
            tasks=tasks,
            transitions=execution.state_transitions(),
            events=execution.events,
            log_bytes=sum(log_record_bytes(event, execution.arn) for event in execution.history),
            billed_ms=billed_ms,
            billed_mb=billed_mb,
            largest_state_bytes=execution.largest_state_bytes(),
            seconds=seconds,
            read_units=float(execution.output.get("read_units", {}).get("total", READ_UNITS_PER_RUN)),
        )


def cost_rows(runs: list[CostRun]) -> list[list[str]]:
    """One row per measured run: its figures and its cost per million tasks."""
    rows = []
    for run in runs:
        express = run.orchestrator_type == "EXPRESS"
        rows.append(
            [
                run.orchestrator_type,
                f"{run.tasks:,}",
                f"{run.transitions:,}",
                "1" if express else "-",
                f"{run.billed_ms:,} ms x {run.billed_mb} MB" if express else "-",
                f"{run.log_bytes / 1024:,.0f} KiB" if express else "-",
                f"${run.per_million_tasks(run.step_functions):,.2f}",
                f"${run.per_million_tasks(run.logs):,.2f}" if express else "-",
                f"${run.per_million_tasks(run.step_functions + run.the_rest):,.2f}",
            ]
        )
    return rows


COST_HEADERS = [
    "type",
    "tasks/run",
    "transitions",
    "requests",
    "billed",
    "log (ALL)",
    "Step Functions $/M tasks",
    "of which logs",
    "all included $/M tasks",
]


def largest_express_run(run: CostRun) -> dict[str, Any]:
    """The most tasks an Express run can take, from a measured one: the state (256 KiB) and the time (300 s) each
    allow, at the run's own bytes and seconds per task (the embedded stack's time, slower than AWS)."""
    per_task_bytes = run.largest_state_bytes / run.tasks
    per_task_seconds = (run.billed_ms / 1000) / run.tasks
    return {
        "measured_tasks": run.tasks,
        "largest_state_bytes": run.largest_state_bytes,
        "state_bytes_per_task": round(per_task_bytes, 1),
        "billed_seconds": run.billed_ms / 1000,
        "seconds_per_task": round(per_task_seconds, 4),
        "fits": run.largest_state_bytes < STATE_LIMIT and run.billed_ms / 1000 < EXPRESS_SECONDS,
        "most_tasks_by_state": int(STATE_LIMIT / per_task_bytes),
        "most_tasks_by_time": int(EXPRESS_SECONDS / per_task_seconds) if per_task_seconds else None,
    }
