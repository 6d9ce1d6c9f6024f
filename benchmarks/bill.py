"""The monthly bill (``make bench``): what a deployment costs a month at 10, 100 and 1,000 labourers, idle and with
a steady load, on each workflow type, priced by service.

For each workflow type and size: a fresh embedded stack with the real template (config in S3, every labourer with
three health metrics, as ``benchmarks.labourers``), then one minute's work measured: one Orchestrator run and one
Scavenger run, idle; then, loaded, ``LOAD`` tasks queued over the first labourers, one Orchestrator run that invokes
them, their completion reports (one TaskDestination call each, as a labourer's OnSuccess destination sends it) and
one Scavenger run that archives them. Measured from that minute: every AWS call by who made it (a Lambda step, or the
state machine's own integrations), the state transitions, the Express billed duration, the bytes each step printed
(its log and EMF metrics), the custom metrics those EMF blobs define, the metrics each GetMetricData asked for.
The month is that minute times ``RUNS_A_MONTH`` (one run of each state machine a minute, the template's schedules);
nothing is simulated for a month.

Prices: us-east-1 list prices (``PRICES``, each with the page it is from), no free tier. Two figures are
assumptions, not prices, and say so: a Lambda step's duration (``STEP_MS`` plus ``CALL_MS`` per AWS call it makes;
the embedded stack's own time is an emulator's) and the platform's lines per invocation (``PLATFORM_LOG_BYTES``).
DynamoDB units are modelled from the calls (``units``): on-demand, items under 1 KB, each write also written to the
one index its table has.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from botocore.client import BaseClient

from benchmarks.labourers import FLEET_ARNS, health_metrics, labourer_name, seed_health
from benchmarks.meter import HARNESS_ATTRIBUTE, mark_harness
from foreman.local.deployer import ACCOUNT, REGION
from foreman.local.function_logs import current_function, function_output
from foreman.local.stack import EmbeddedStack
from foreman_core.config import Tables
from foreman_core.task_store import TaskStore

RUNS_A_MONTH = 43_800
"""Runs of each state machine in a month: one a minute (``rate(1 minute)``), 60 x 24 x 365 / 12."""

LOAD = 100
"""Tasks a minute of the loaded deployment."""

BUSY = 10
"""The labourers the load is spread over (each with a cap of ``LOAD // BUSY``)."""

STEP_MS = 30
CALL_MS = 8
"""Assumed: a warm Lambda step's duration is ``STEP_MS`` plus ``CALL_MS`` per AWS call it makes (in-region calls of a
few milliseconds); billed at the function's memory in the template (``step_gb``) on arm64."""
STEP_GB = 0.25
"""The template's default memory (``Globals.Function.MemorySize``, 256 MB) when a function names none."""


def step_gb(function_name: str) -> float:
    """The memory (GB) the template gives the step ``function_name`` (``<stack>-<LogicalId>``), else ``STEP_GB``."""
    from foreman.local.deployer import load_template
    from foreman.local.stack import TEMPLATE

    template = load_template(TEMPLATE)
    default = template.get("Globals", {}).get("Function", {}).get("MemorySize")
    logical_id = function_name.split("-", 1)[-1]
    resource = template.get("Resources", {}).get(logical_id, {})
    memory = resource.get("Properties", {}).get("MemorySize", default)
    return float(memory) / 1024 if isinstance(memory, int | float) else STEP_GB


PLATFORM_LOG_BYTES = 300
"""Assumed: the START, END and REPORT lines Lambda writes per invocation."""

PRICES: dict[str, tuple[float, str]] = {
    "sfn_transition": (0.025 / 1000, "https://aws.amazon.com/step-functions/pricing/ (Standard: $0.025 per 1,000)"),
    "sfn_express_request": (1.00 / 1e6, "https://aws.amazon.com/step-functions/pricing/ (Express: $1.00 per million)"),
    "sfn_express_gb_second": (0.00001667, "https://aws.amazon.com/step-functions/pricing/ (Express, first 1,000 h)"),
    "lambda_request": (0.20 / 1e6, "https://aws.amazon.com/lambda/pricing/ ($0.20 per million requests)"),
    "lambda_gb_second": (0.0000133334, "https://aws.amazon.com/lambda/pricing/ (arm64, first 6 billion GB-s)"),
    "dynamodb_read_unit": (0.125 / 1e6, "https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.125 per million)"),
    "dynamodb_write_unit": (0.625 / 1e6, "https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.625 per million)"),
    "cw_metric_month": (0.30, "https://aws.amazon.com/cloudwatch/pricing/ (custom metric, first 10,000)"),
    "cw_get_metric_data": (0.01 / 1000, "https://aws.amazon.com/cloudwatch/pricing/ ($0.01 per 1,000 metrics)"),
    "logs_ingested_gb": (0.50, "https://aws.amazon.com/cloudwatch/pricing/ (Logs, standard ingestion)"),
    "cw_alarm_month": (0.10, "https://aws.amazon.com/cloudwatch/pricing/ (standard-resolution alarm)"),
    "cw_dashboard_month": (3.00, "https://aws.amazon.com/cloudwatch/pricing/ (dashboard)"),
    "scheduler_invocation": (1.00 / 1e6, "https://aws.amazon.com/eventbridge/pricing/ (Scheduler, $1.00 per million)"),
    "s3_get": (0.0004 / 1000, "https://aws.amazon.com/s3/pricing/ (GET, $0.0004 per 1,000)"),
}
"""us-east-1 list prices, December 2026, and where each is stated."""

ALARMS = 5
"""The template's alarms (a fixed monthly charge, with its one dashboard)."""

SERVICES = ("Step Functions", "Lambda", "DynamoDB", "CloudWatch metrics", "GetMetricData", "Logs", "other")
"""The bill's columns."""

GB = 1024**3
DESTINATION = "foreman-TaskDestinationFunction"
READS = {"Query", "Scan", "GetItem", "BatchGetItem"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
INDEXED_TABLES = {Tables().tasks, Tables().closed, Tables().retry}


def price(name: str) -> float:
    """One price of ``PRICES``."""
    return PRICES[name][0]


@dataclass
class Minute:
    """What one minute of a deployment did: its calls by caller, transitions, bytes printed, metrics."""

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(caller, service.Operation): caller is a Lambda step's function name or ``state machine``."""
    read_units: float = 0.0
    write_units: float = 0.0
    metrics_requested: int = 0
    transitions: int = 0
    express_requests: int = 0
    express_gb_seconds: float = 0.0
    step_log_bytes: int = 0
    execution_log_bytes: int = 0
    custom_metrics: set[str] = field(default_factory=set)
    invocations: Counter[str] = field(default_factory=Counter)
    """Lambda step invocations by function (not the labourers': they are the user's bill)."""

    def step_calls(self) -> int:
        return sum(count for (caller, _), count in self.calls.items() if caller != "state machine")

    def calls_by(self, function_name: str) -> int:
        """The AWS calls the step ``function_name`` made."""
        return sum(count for (caller, _), count in self.calls.items() if caller == function_name)

    def bill(self) -> dict[str, float]:
        """The month, by service (``SERVICES``)."""
        runs = RUNS_A_MONTH
        invocations = sum(self.invocations.values())
        gb_seconds = sum(
            (count * STEP_MS + self.calls_by(name) * CALL_MS) / 1000 * step_gb(name)
            for name, count in self.invocations.items()
        )
        logs = self.step_log_bytes + invocations * PLATFORM_LOG_BYTES + self.execution_log_bytes
        s3_gets = sum(count for (_, call), count in self.calls.items() if call == "s3.GetObject")
        return {
            "Step Functions": runs
            * (
                self.transitions * price("sfn_transition")
                + self.express_requests * price("sfn_express_request")
                + self.express_gb_seconds * price("sfn_express_gb_second")
            ),
            "Lambda": runs * (invocations * price("lambda_request") + gb_seconds * price("lambda_gb_second")),
            "DynamoDB": runs
            * (self.read_units * price("dynamodb_read_unit") + self.write_units * price("dynamodb_write_unit")),
            "CloudWatch metrics": len(self.custom_metrics) * price("cw_metric_month")
            + ALARMS * price("cw_alarm_month")
            + price("cw_dashboard_month"),
            "GetMetricData": runs * self.metrics_requested * price("cw_get_metric_data"),
            "Logs": runs * logs / GB * price("logs_ingested_gb"),
            "other": runs * (2 * price("scheduler_invocation") + s3_gets * price("s3_get")),
        }


def units(operation: str, params: dict[str, Any], response: dict[str, Any]) -> tuple[float, float]:
    """(read units, write units) DynamoDB bills for one call (on demand, items under 1 KB): an eventually consistent
    read is 0.5 a 4 KB of items read, at least 0.5 a request, a consistent one twice that; a write 1 a table and 1 a
    written index; a transaction twice that."""
    if operation in READS:
        read = int(response.get("ScannedCount", response.get("Count", 1 if response.get("Item") else 0)))
        if operation == "BatchGetItem":
            read = sum(len(items) for items in response.get("Responses", {}).values())
        blocks = max(1, -(-read // 4))
        return blocks * (1.0 if params.get("ConsistentRead") else 0.5), 0.0
    if operation in WRITES:
        return 0.0, 2.0 if params.get("TableName") in INDEXED_TABLES else 1.0
    if operation == "TransactWriteItems":
        writes = 0.0
        for item in params.get("TransactItems", []):
            (action,) = item.values()
            writes += 2 * (2.0 if action.get("TableName") in INDEXED_TABLES else 1.0)
        return 0.0, writes
    return 0.0, 0.0


@contextlib.contextmanager
def metering(minute: Minute) -> Iterator[None]:
    """Count every call (not the harness's) into ``minute``, by who made it."""
    original = BaseClient._make_api_call
    lock = threading.Lock()

    def counted(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if getattr(client, HARNESS_ATTRIBUTE, False):
            return original(client, operation, params)
        service = client.meta.service_model.service_name
        response = original(client, operation, params)
        caller = current_function() or "state machine"
        with lock:
            minute.calls[(caller, f"{service}.{operation}")] += 1
            if service == "dynamodb":
                read, write = units(operation, params, response)
                minute.read_units += read
                minute.write_units += write
            if service == "cloudwatch" and operation == "GetMetricData":
                minute.metrics_requested += len(params.get("MetricDataQueries", []))
            if service == "lambda" and operation == "Invoke" and caller == "state machine":
                name = str(params.get("FunctionName", "")).split(":")[-1]
                if name.startswith("foreman-"):
                    minute.invocations[name] += 1
        return response

    with mock.patch.object(BaseClient, "_make_api_call", counted):
        yield


def emf_metrics(printed: str) -> set[str]:
    """The custom metrics the EMF blobs in ``printed`` define: namespace, name and dimension values."""
    found = set()
    for line in printed.splitlines():
        text = line.split(" | ", 1)[-1]
        if '"_aws"' not in text:
            continue
        blob = json.loads(text)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for dimensions in directive["Dimensions"]:
                key = ",".join(f"{name}={blob.get(name)}" for name in dimensions)
                for metric in directive["Metrics"]:
                    found.add(f"{directive['Namespace']}/{metric['Name']}/{key}")
    return found


@dataclass(frozen=True)
class BillPoint:
    """One deployment's month, idle and loaded."""

    orchestrator_type: str
    labourers: int
    idle: dict[str, float]
    loaded: dict[str, float]
    seconds: float

    @property
    def idle_total(self) -> float:
        return sum(self.idle.values())

    @property
    def loaded_total(self) -> float:
        return sum(self.loaded.values())

    def figures(self) -> dict[str, Any]:
        """Plain data for the JSON document."""
        return {
            "orchestrator_type": self.orchestrator_type,
            "labourers": self.labourers,
            "idle": {key: round(value, 2) for key, value in self.idle.items()},
            "loaded": {key: round(value, 2) for key, value in self.loaded.items()},
            "idle_total": round(self.idle_total, 2),
            "loaded_total": round(self.loaded_total, 2),
            "seconds": round(self.seconds, 1),
        }


def _orchestrate(stack: EmbeddedStack, minute: Minute, orchestrator_type: str, now: float) -> None:
    """One Orchestrator run at ``now`` into ``minute``: the Orchestrator's transitions, or (Express) its request,
    billed duration and log at level ALL without execution data; then, when it handed tasks on, its Invocations
    execution's transitions and one per child its Distributed Map started (``benchmarks.cost.MAP_CHILD_TRANSITIONS``),
    and each Express child's request, billed duration (64 MB) and log at level ERROR (its failure events)."""
    from benchmarks.cost import EXPRESS_BILLED_MB, MAP_CHILD_TRANSITIONS, billed_ms, error_log_bytes

    if orchestrator_type != "EXPRESS":
        execution = stack.run({"now": now})
        orchestrator = execution.parts.get(execution.arn, execution.history)
        minute.transitions += _transitions(orchestrator)
    else:
        sfn = stack.client("stepfunctions")
        answer = sfn.start_sync_execution(
            stateMachineArn=stack.outputs["OrchestratorArn"], input=json.dumps({"now": now})
        )
        billed = answer["billingDetails"]
        minute.express_requests += 1
        minute.express_gb_seconds += (
            billed["billedDurationInMilliseconds"] / 1000 * billed["billedMemoryUsedInMB"] / 1024
        )
        execution = stack.wait(answer["executionArn"])
        orchestrator = execution.parts.get(execution.arn, execution.history)
        minute.execution_log_bytes += sum(_record_bytes(event, execution.arn) for event in orchestrator)
    if not execution.invocations:
        return
    invocations = execution.parts.get(execution.invocations, [])
    children = {
        arn: history for arn, history in execution.parts.items() if arn not in (execution.arn, execution.invocations)
    }
    minute.transitions += _transitions(invocations) + MAP_CHILD_TRANSITIONS * len(children)
    minute.execution_log_bytes += error_log_bytes(invocations, execution.invocations)
    for arn, history in children.items():
        minute.express_requests += 1
        minute.express_gb_seconds += billed_ms(history) / 1000 * EXPRESS_BILLED_MB / 1024
        minute.execution_log_bytes += error_log_bytes(history, arn)


def _transitions(history: list[dict[str, Any]]) -> int:
    return sum(1 for event in history if str(event["type"]).endswith("StateEntered"))


def _scavenge(stack: EmbeddedStack, minute: Minute, now: float) -> None:
    minute.transitions += stack.run({"now": now}, state_machine="ScavengerArn").state_transitions()


def _record_bytes(event: dict[str, Any], execution_arn: str) -> int:
    """An execution log record at level ALL without execution data (the template's default for Express)."""
    found: dict[str, Any] = next((value for key, value in event.items() if key.endswith("EventDetails")), {})
    details = {key: value for key, value in found.items() if key not in ("input", "output", "inputDetails")}
    record = {"id": str(event.get("id")), "type": event.get("type"), "details": details,
              "previous_event_id": str(event.get("previousEventId", 0)), "event_timestamp": "1796000000000",
              "execution_arn": execution_arn, "redrive_count": "0"}  # fmt: skip
    return len(json.dumps(record, default=str).encode())


def measure(orchestrator_type: str, labourers: int) -> BillPoint:
    """One deployment's idle minute and loaded minute, priced for a month."""
    began = time.perf_counter()
    parameters = {
        "LabourerArns": FLEET_ARNS,
        "ConfigBucketName": "foreman-config",
        "OrchestratorType": orchestrator_type,
    }
    printed = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), EmbeddedStack(parameters=parameters) as stack:
        stack.create_config_bucket()
        seed_health(stack, dict.fromkeys(range(labourers), 10.0))
        cap = LOAD // BUSY
        config = {}
        for number in range(labourers):
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{labourer_name(number)}"
            if number < BUSY:
                arn = stack.add_function(labourer_name(number), lambda event, context: {"ok": True})
            config[labourer_name(number)] = {"arn": arn, "max_simultaneous_invocations": cap,
                                             "health_metrics": health_metrics(number)}  # fmt: skip
        stack.put_config({"task_config": {"labourers": config}})
        for number in range(min(BUSY, labourers)):  # completion without worker code: the OnSuccess destination
            stack.client("lambda").put_function_event_invoke_config(
                FunctionName=labourer_name(number),
                MaximumRetryAttempts=0,
                DestinationConfig={"OnSuccess": {"Destination": str(stack.outputs["TaskDestinationFunctionArn"])}},
            )
        store = TaskStore(stack.client("dynamodb"), Tables())
        for service in ("stepfunctions", "lambda", "cloudwatch", "ssm", "s3", "dynamodb"):
            mark_harness(stack.client(service))
        now = time.time()
        idle = Minute()
        with metering(idle), function_output(printed):
            _orchestrate(stack, idle, orchestrator_type, now)
            _scavenge(stack, idle, now)
        idle.step_log_bytes = len(printed.getvalue().encode())
        idle.custom_metrics = emf_metrics(printed.getvalue())
        busy = min(BUSY, labourers)
        for number in range(busy):
            store.create_tasks(labourer_name(number), [{"n": n} for n in range(LOAD // busy)])
        loaded = Minute()
        printed = io.StringIO()
        with metering(loaded), function_output(printed):
            _orchestrate(stack, loaded, orchestrator_type, now + 60)
            _await_completions(stack, loaded, LOAD)
            _scavenge(stack, loaded, now + 90)
        loaded.step_log_bytes = len(printed.getvalue().encode())
        loaded.custom_metrics = emf_metrics(printed.getvalue())
    return BillPoint(orchestrator_type, labourers, idle.bill(), loaded.bill(), time.perf_counter() - began)


def _await_completions(stack: EmbeddedStack, minute: Minute, expected: int) -> None:
    """Wait for the labourers' OnSuccess destination records to reach TaskDestination (one call a task)."""
    deadline = time.monotonic() + 120
    while len(stack.runtime.calls(DESTINATION)) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(stack.runtime.calls(DESTINATION))} of {expected} completions arrived")
        time.sleep(0.05)
    minute.invocations[DESTINATION] += expected


def bill_rows(points: list[BillPoint]) -> list[list[str]]:
    """One row per deployment and load: the month by service, its total, and its total against the baseline (the
    first point's idle month, run in the same process) and, loaded, against idle plus the tasks at the marginal
    price per task measured at the smallest size."""
    base = points[0]
    per_task = {}
    for point in points:
        if point.orchestrator_type not in per_task:
            per_task[point.orchestrator_type] = (point.loaded_total - point.idle_total) / (LOAD * RUNS_A_MONTH)
    rows = []
    for point in points:
        for load, bill in (("idle", point.idle), (f"{LOAD}/min", point.loaded)):
            total = sum(bill.values())
            expected = point.idle_total + per_task[point.orchestrator_type] * LOAD * RUNS_A_MONTH
            rows.append(
                [point.orchestrator_type, f"{point.labourers:,}", load]
                + [f"${bill[service]:,.2f}" for service in SERVICES]
                + [
                    f"${total:,.2f}",
                    f"{total / base.idle_total:.2f}",
                    "-" if load == "idle" else f"{total / expected:.2f}",
                ]
            )
    return rows


BILL_HEADERS = [
    "type",
    "labourers",
    "load",
    *SERVICES,
    "$ a month",
    "vs first idle",
    "loaded / (idle + tasks x price)",
]


def per_million(points: list[BillPoint]) -> dict[str, float]:
    """The marginal price of a million tasks per workflow type, from its smallest deployment (loaded - idle)."""
    found: dict[str, float] = {}
    for point in points:
        found.setdefault(
            point.orchestrator_type, (point.loaded_total - point.idle_total) / (LOAD * RUNS_A_MONTH) * 1_000_000
        )
    return found
