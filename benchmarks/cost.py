"""What Foreman costs per million tasks on a Standard and on an Express Orchestrator, from one run's own figures.

Since issue 21 a run is several executions: the Orchestrator (``OrchestratorType``: Standard or Express), which hands
the run's tasks to its Invocations execution (always Standard), whose Distributed Map runs one Express child
execution per group of at most 1,000 tasks of one labourer. Each measurement deploys the real template on the
embedded stack with ``OrchestratorType`` set, queues ``tasks`` tasks for one labourer whose cap lets the run take them
all, and runs the Orchestrator once. The run is priced from its executions' own figures:

- the Orchestrator: Standard, the state transitions it made (its ``*StateEntered`` events) at $0.025 per 1,000;
  Express, one request, its billed duration and memory as StartSyncExecution reports them (duration on the embedded
  stack, slower than AWS, so an upper bound; memory at the 64 MB minimum) at $1.00 per million requests and
  $0.00001667 per GB-second, and its log at level ALL without execution data (the template's default for Express):
  every history event as one CloudWatch Logs record in Step Functions' format, at $0.50 per GB ingested;
- the Invocations execution (Standard): its own state transitions, plus one per child execution its Distributed Map
  starts, at $0.025 per 1,000;
- the children (Express): one request each and each one's billed duration (its own, from its history, rounded up to
  100 ms, at the 64 MB minimum), and their log at the Invocations state machine's level (the template's default is
  ERROR: only failure events, none in a healthy run);
- both: the Lambda steps (4 requests a run, 0.2 s each at 256 MB, the docs' assumption), S3 (the groups written and
  read, the Map Run's results written and read: counted in the run), and DynamoDB: 3 write units a claim (table and
  index), 2 a run for the lease, and the read units the run reports.

A run's cost divided by its tasks, times a million, is the cost per million tasks at that many tasks a run. Prices
are us-east-1 list prices (check the pricing pages); free tiers are ignored. docs/cost.md explains the model.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

STANDARD_TRANSITION = 0.025 / 1000
"""https://aws.amazon.com/step-functions/pricing/ : Standard, $0.025 per 1,000 state transitions."""
MAP_CHILD_TRANSITIONS = 1
"""A Distributed Map is charged one state transition for each child workflow execution it starts (and an Express
child is then billed as an Express workflow: requests and duration): "Transitions in Distributed Map states",
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html ."""
EXPRESS_REQUEST = 1.00 / 1_000_000
EXPRESS_GB_SECOND = 0.00001667
"""https://aws.amazon.com/step-functions/pricing/ : Express, $1.00 per million requests and $0.00001667 per GB-second
(the first 1,000 hours' tier), duration rounded up to 100 ms, memory billed in 64 MB chunks."""
EXPRESS_BILLED_MB = 64
"""A child's billed memory: the 64 MB minimum. AWS's estimate (50 MB plus the definition plus the execution data) stays
under 64 MB for a child whose largest state is the 250,000 bytes ``split_groups`` keeps it within."""
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
S3_PUT = 0.005 / 1000
S3_GET = 0.0004 / 1000
"""https://aws.amazon.com/s3/pricing/ : S3 Standard, $0.005 per 1,000 PUT and $0.0004 per 1,000 GET requests."""
GB = 1024**3

EXPRESS_SECONDS = 300
STATE_LIMIT = 256 * 1024
ERROR_EVENTS = ("Failed", "TimedOut", "Aborted")
"""At log level ERROR an execution logs only its failure events (those whose type ends so)."""

LABOURER = "cost-labourer"


@dataclass(frozen=True)
class CostRun:
    """One Orchestrator run's own figures (its Orchestrator, Invocations execution and children), and their cost."""

    orchestrator_type: str
    tasks: int
    transitions: int
    """The Orchestrator's state transitions."""
    events: int
    """The Orchestrator's history events."""
    log_bytes: int
    """The Orchestrator's execution log (Express: level ALL without data; Standard: ERROR)."""
    billed_ms: int
    billed_mb: int
    largest_state_bytes: int
    """The largest state of the run-wide executions (the Orchestrator's and the Invocations execution's)."""
    seconds: float
    read_units: float = READ_UNITS_PER_RUN
    """The read capacity units the run reported (``read_units.total``: as DynamoDB charges them)."""
    invocations_transitions: int = 0
    """The Invocations execution's own state transitions (the Map and Summarize; one more per child is added)."""
    children: int = 0
    children_billed_ms: int = 0
    """The children's billed durations, summed (each rounded up to 100 ms)."""
    children_log_bytes: int = 0
    """The Invocations execution's and the children's log at level ERROR."""
    largest_child_state_bytes: int = 0
    longest_child_ms: int = 0
    s3_puts: int = 0
    s3_gets: int = 0

    @property
    def orchestrator(self) -> float:
        """The Orchestrator execution's charge: transitions; or request, duration and its ALL-level log."""
        if self.orchestrator_type == "STANDARD":
            return self.transitions * STANDARD_TRANSITION + self.log_bytes / GB * LOGS_PER_GB
        gb_seconds = (self.billed_ms / 1000) * (self.billed_mb / 1024)
        return EXPRESS_REQUEST + gb_seconds * EXPRESS_GB_SECOND + self.logs

    @property
    def invocations(self) -> float:
        """The Invocations execution (Standard): its transitions and one per child started."""
        return (self.invocations_transitions + MAP_CHILD_TRANSITIONS * self.children) * STANDARD_TRANSITION

    @property
    def children_cost(self) -> float:
        """The Express children: a request each, their billed duration at 64 MB, their ERROR-level log."""
        gb_seconds = (self.children_billed_ms / 1000) * (EXPRESS_BILLED_MB / 1024)
        return (
            self.children * EXPRESS_REQUEST
            + gb_seconds * EXPRESS_GB_SECOND
            + self.children_log_bytes / GB * LOGS_PER_GB
        )

    @property
    def step_functions(self) -> float:
        """Step Functions' whole charge for the run: the Orchestrator, the Invocations execution, the children."""
        return self.orchestrator + self.invocations + self.children_cost

    @property
    def logs(self) -> float:
        """The Orchestrator's execution log (Express, level ALL without data; Standard logs only errors)."""
        return self.log_bytes / GB * LOGS_PER_GB if self.orchestrator_type == "EXPRESS" else 0.0

    @property
    def the_rest(self) -> float:
        """What is the same for both types: the Lambda steps, S3 and DynamoDB."""
        lambda_steps = LAMBDA_STEPS_PER_RUN * (LAMBDA_REQUEST + LAMBDA_STEP_SECONDS * LAMBDA_STEP_GB * LAMBDA_GB_SECOND)
        writes = (WRITE_UNITS_PER_TASK * self.tasks + WRITE_UNITS_PER_RUN) * WRITE_UNIT
        s3 = self.s3_puts * S3_PUT + self.s3_gets * S3_GET
        return lambda_steps + s3 + writes + self.read_units * READ_UNIT

    @property
    def total(self) -> float:
        """Everything the run costs."""
        return self.step_functions + self.the_rest

    def per_million_tasks(self, cost: float) -> float:
        return cost * 1_000_000 / self.tasks

    def figures(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "per_million_tasks": {
                key: round(self.per_million_tasks(value), 4)
                for key, value in (
                    ("orchestrator", self.orchestrator),
                    ("invocations", self.invocations),
                    ("children", self.children_cost),
                    ("step_functions", self.step_functions),
                    ("logs", self.logs),
                    ("the_rest", self.the_rest),
                    ("total", self.total),
                )
            },
        }


def log_record_bytes(event: dict[str, Any], execution_arn: str, *, data: bool = False) -> int:
    """One history event as Step Functions writes it to CloudWatch Logs (its log format: id, type, details,
    previous_event_id, event_timestamp, execution_arn, redrive_count), in UTF-8 bytes; ``data``: with each state's
    input and output (``IncludeExecutionData``, off by default)."""
    found: dict[str, Any] = next((value for key, value in event.items() if key.endswith("EventDetails")), {})
    details = found if data else {k: v for k, v in found.items() if k not in ("input", "output", "inputDetails")}
    record = {
        "id": str(event.get("id")),
        "type": str(event.get("type")),
        "details": details,
        "previous_event_id": str(event.get("previousEventId", 0)),
        "event_timestamp": "1796000000000",
        "execution_arn": execution_arn,
        "redrive_count": "0",
    }
    return len(json.dumps(record, default=str).encode())


def error_log_bytes(history: list[dict[str, Any]], execution_arn: str) -> int:
    """An execution's log at level ERROR: its failure events only."""
    return sum(
        log_record_bytes(event, execution_arn) for event in history if str(event.get("type")).endswith(ERROR_EVENTS)
    )


def _moment(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def billed_ms(history: list[dict[str, Any]]) -> int:
    """An Express execution's billed duration from its history: first event to last, rounded up to 100 ms."""
    if not history:
        return 0
    elapsed = (_moment(history[-1]["timestamp"]) - _moment(history[0]["timestamp"])).total_seconds() * 1000
    return max(100, math.ceil(elapsed / 100) * 100)


def measure(orchestrator_type: str, tasks: int) -> CostRun:
    """One run of ``tasks`` tasks on a fresh embedded stack deployed with ``OrchestratorType=orchestrator_type``."""
    import contextlib
    import io
    import time

    from benchmarks.meter import ApiMeter, mark_harness
    from benchmarks.throughput import run_wide
    from foreman.local.stack import EmbeddedStack, Execution
    from foreman_core.config import Tables
    from foreman_core.task_store import TaskStore

    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{LABOURER}"
    parameters = {"LabourerArns": arn, "LogLevel": "ERROR", "OrchestratorType": orchestrator_type}
    with contextlib.redirect_stdout(io.StringIO()), EmbeddedStack(parameters=parameters) as stack:
        stack.add_function(LABOURER, lambda event, context: {"ok": True})
        labourers = {LABOURER: {"arn": arn, "max_simultaneous_invocations": tasks}}
        stack.put_config({"task_config": {"labourers": labourers}, "max_tasks_per_execution": tasks})
        TaskStore(stack.client("dynamodb"), Tables()).create_tasks(LABOURER, [{"n": n} for n in range(tasks)])
        sfn = mark_harness(stack.client("stepfunctions"))
        meter = ApiMeter()
        began = time.perf_counter()
        with meter.measure() as calls:
            if orchestrator_type == "EXPRESS":
                answer = sfn.start_sync_execution(stateMachineArn=stack.outputs["OrchestratorArn"], input="{}")
                billed = answer["billingDetails"]
                run_ms, run_mb = int(billed["billedDurationInMilliseconds"]), int(billed["billedMemoryUsedInMB"])
                execution = stack.wait(answer["executionArn"])  # what its log at level ALL holds, and the rest
            else:
                execution = stack.wait(
                    sfn.start_execution(stateMachineArn=stack.outputs["OrchestratorArn"])["executionArn"]
                )
                run_ms, run_mb = 0, 0
        seconds = time.perf_counter() - began
    (line,) = execution.output["labourers"].values()
    if line.get("invoked", 0) != tasks:
        raise RuntimeError(f"{orchestrator_type}: the run invoked {line.get('invoked', 0)} of {tasks} tasks: {line}")
    orchestrator = execution.parts.get(execution.arn, execution.history)
    invocations = execution.parts.get(execution.invocations or "", [])
    children = {
        child: history
        for child, history in execution.parts.items()
        if child not in (execution.arn, execution.invocations)
    }
    own = Execution(execution.arn, execution.status, None, orchestrator, 0.0)
    if orchestrator_type == "EXPRESS":
        log = sum(log_record_bytes(event, execution.arn) for event in orchestrator)
    else:
        log = error_log_bytes(orchestrator, execution.arn)
    child_states = [Execution(c, "", None, h, 0.0).largest_state_bytes(compact=True) for c, h in children.items()]
    child_ms = [billed_ms(history) for history in children.values()]
    return CostRun(
        orchestrator_type=orchestrator_type,
        tasks=tasks,
        transitions=own.state_transitions(),
        events=own.events,
        log_bytes=log,
        billed_ms=run_ms,
        billed_mb=run_mb,
        largest_state_bytes=run_wide(execution).largest_state_bytes,
        seconds=seconds,
        read_units=float(execution.output.get("read_units", {}).get("total", READ_UNITS_PER_RUN)),
        invocations_transitions=Execution("", "", None, invocations, 0.0).state_transitions(),
        children=len(children),
        children_billed_ms=sum(child_ms),
        children_log_bytes=error_log_bytes(invocations, execution.invocations or "")
        + sum(error_log_bytes(history, child) for child, history in children.items()),
        largest_child_state_bytes=max(child_states, default=0),
        longest_child_ms=max(child_ms, default=0),
        s3_puts=calls.calls.get("s3.PutObject", 0),
        s3_gets=calls.calls.get("s3.GetObject", 0),
    )


def _dollars(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:,.4f}"


def cost_rows(runs: list[CostRun]) -> list[list[str]]:
    """One row per measured run: its figures and its cost per million tasks, by execution."""
    rows = []
    for run in runs:
        express = run.orchestrator_type == "EXPRESS"
        million = run.per_million_tasks
        rows.append(
            [
                run.orchestrator_type,
                f"{run.tasks:,}",
                f"{run.billed_ms:,} ms x {run.billed_mb} MB, log {run.log_bytes / 1024:,.1f} KiB"
                if express
                else f"{run.transitions} transitions",
                f"{run.invocations_transitions} + {run.children}",
                f"{run.children} x {run.children_billed_ms / max(run.children, 1) / 1000:,.1f} s",
                _dollars(million(run.orchestrator)),
                _dollars(million(run.invocations)),
                _dollars(million(run.children_cost)),
                _dollars(million(run.step_functions)),
                _dollars(million(run.the_rest)),
                _dollars(million(run.total)),
            ]
        )
    return rows


COST_HEADERS = [
    "type",
    "tasks/run",
    "Orchestrator",
    "Invocations transitions (+ 1 a child)",
    "children x billed",
    "Orchestrator $/M",
    "Invocations $/M",
    "children $/M",
    "Step Functions $/M tasks",
    "Lambda, S3, DynamoDB $/M",
    "all included $/M tasks",
]

GOAL_PER_MILLION = 2.50
"""Issue 21's goal: at most $2.50 per million tasks, all included, on the default deployment (Standard)."""


def goal_verdicts(runs: list[CostRun]) -> list[str]:
    """For each type, its cheapest measured run per million tasks against ``GOAL_PER_MILLION``, and, from its smallest
    and largest runs (a run's cost: a fixed part plus a part per task), the fewest tasks a run that meet it."""
    lines = []
    for kind in ("STANDARD", "EXPRESS"):
        measured = sorted((run for run in runs if run.orchestrator_type == kind), key=lambda run: run.tasks)
        if not measured:
            continue
        best = min(measured, key=lambda run: run.per_million_tasks(run.total))
        price = best.per_million_tasks(best.total)
        verdict = "meets" if price <= GOAL_PER_MILLION else "DOES NOT MEET"
        line = (
            f"{kind}: ${price:,.2f} per million tasks all included at {best.tasks:,} tasks a run: {verdict} the goal "
            f"of ${GOAL_PER_MILLION:.2f}"
        )
        fixed, per_task = run_cost_line(measured[0], measured[-1])
        if per_task is not None:
            line += f"; a run costs ${fixed * 1000:.4f} per 1,000 runs plus ${per_task * 1e6:.2f} per million tasks"
            if per_task * 1e6 < GOAL_PER_MILLION:
                fewest = math.ceil(fixed / (GOAL_PER_MILLION / 1e6 - per_task))
                line += f", so it meets the goal from {fewest:,} tasks a run"
        lines.append(line)
    return lines


def run_cost_line(small: CostRun, large: CostRun) -> tuple[float, float | None]:
    """A run's cost as ``fixed + per_task x tasks`` through two measured runs (``per_task`` None if one size)."""
    if large.tasks == small.tasks:
        return small.total, None
    per_task = (large.total - small.total) / (large.tasks - small.tasks)
    return small.total - per_task * small.tasks, per_task


def child_limits(runs: list[CostRun]) -> dict[str, Any] | None:
    """The largest and longest child of the measured runs against an Express child's limits (256 KiB a state, 300 s;
    the embedded stack's time, slower than AWS)."""
    if not runs or not any(run.children for run in runs):
        return None
    largest = max(runs, key=lambda run: run.largest_child_state_bytes)
    longest = max(runs, key=lambda run: run.longest_child_ms)
    return {
        "largest_child_state_bytes": largest.largest_child_state_bytes,
        "largest_child_run_tasks": largest.tasks,
        "longest_child_seconds": longest.longest_child_ms / 1000,
        "longest_child_run_tasks": longest.tasks,
        "fits": largest.largest_child_state_bytes < STATE_LIMIT and longest.longest_child_ms / 1000 < EXPRESS_SECONDS,
    }
