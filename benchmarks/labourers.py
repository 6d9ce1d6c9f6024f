"""Part 6 of ``make bench``: a labourer sweep, what one Orchestrator run costs as the config grows.

For each size N (10, 100, 1,000 by default): a fresh embedded stack, N labourers with three health metrics each (a
database's CPU, a queue's age, a function's errors: the README's shapes), datapoints for every tenth labourer and
none for the others (so most are Bad by default and idle), and tasks queued for one labourer in twenty (6 each,
cap 4). One measured run: control-plane calls (everything but the claims and the labourers' invokes), of which
``GetMetricData`` calls (at most one per 500 distinct metric queries), the distinct metrics, the largest state of
the run in bytes as Step Functions holds it (compact JSON) and per labourer, and the history events. The ratios are
against the smallest size, run in the same process. Before issue 15 the whole config travelled in the state and a
run failed (``States.DataLimitExceeded``) from about 200 labourers on.
"""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.meter import ApiMeter, mark_harness
from foreman.local.deployer import ACCOUNT, REGION
from foreman.local.stack import EmbeddedStack
from foreman_core.config import Tables
from foreman_core.task_store import TaskStore

PREFIX = "fleet-"
FLEET_ARNS = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{PREFIX}*"
"""LabourerArns as a name prefix: a thousand ARNs would not fit a CloudFormation parameter (4,096 bytes)."""

CAP = 4
TASKS_EACH = 6


def labourer_name(number: int) -> str:
    """The sweep's labourer (and its function) number ``number``."""
    return f"{PREFIX}{number:04d}"


def health_metrics(number: int, *, no_data_status: int | None = None) -> dict[str, Any]:
    """Three health metrics, the README's shapes: the labourer's database CPU, its queue's age, its errors."""

    def metric(namespace: str, name: str, dimension: str, value: str, feelings: dict[int, float]) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "details": {"MetricName": name, "Namespace": namespace, "Period": 60, "Statistics": ["Average"],
                        "Dimensions": [{"Name": dimension, "Value": value}]},
            "feelings": feelings,
            "feeling_comparison_operator": "<=",
        }  # fmt: skip
        if no_data_status is not None:
            entry["no_data_status"] = no_data_status
        return entry

    return {
        "cpu": metric("AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", f"db-{number}", {2: 80, 3: 50, 4: 25}),
        "queue_age": metric("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", f"q-{number}", {4: 600}),
        "errors": metric("AWS/Lambda", "Errors", "FunctionName", labourer_name(number), {4: 5}),
    }


def seed_health(stack: EmbeddedStack, cpu_by_number: dict[int, float]) -> None:
    """Datapoints a minute ago for each labourer's three metrics: its CPU as given, a young queue, no errors."""
    when = datetime.now(tz=UTC) - timedelta(seconds=60)
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for number, cpu in cpu_by_number.items():
        for namespace, name, dimension, value, reading in (
            ("AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", f"db-{number}", cpu),
            ("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", f"q-{number}", 30.0),
            ("AWS/Lambda", "Errors", "FunctionName", labourer_name(number), 0.0),
        ):
            datum = {"MetricName": name, "Dimensions": [{"Name": dimension, "Value": value}]}
            by_namespace.setdefault(namespace, []).append({**datum, "Timestamp": when, "Value": reading})
    cloudwatch = stack.client("cloudwatch")
    for namespace, data in by_namespace.items():
        for first in range(0, len(data), 1000):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[first : first + 1000])


@dataclass(frozen=True)
class SweepPoint:
    """One run at one size."""

    labourers: int
    busy: int
    invoked: int
    control_calls: int
    metric_calls: int
    distinct_metrics: int
    largest_state_bytes: int
    history_events: int
    seconds: float

    def figures(self) -> dict[str, Any]:
        """Plain data for the JSON document."""
        return {
            "labourers": self.labourers,
            "busy": self.busy,
            "invoked": self.invoked,
            "control_calls": self.control_calls,
            "control_calls_per_labourer": round(self.control_calls / self.labourers, 2),
            "get_metric_data_calls": self.metric_calls,
            "distinct_metrics": self.distinct_metrics,
            "largest_state_bytes": self.largest_state_bytes,
            "state_bytes_per_labourer": round(self.largest_state_bytes / self.labourers, 1),
            "history_events": self.history_events,
            "seconds": round(self.seconds, 1),
        }


def run_point(labourers: int) -> SweepPoint:
    """One measured Orchestrator run over ``labourers`` labourers on a fresh stack."""
    busy = [number for number in range(labourers) if number % 20 == 0]
    quiet = contextlib.redirect_stdout(io.StringIO())  # Summarize prints its EMF metrics; the tables own stdout
    # the config in S3: 100 labourers' (~80 KB) already fits neither an SSM parameter (8 KB) nor, at 1,000, an item
    parameters = {"LabourerArns": FLEET_ARNS, "LogLevel": "ERROR", "ConfigBucketName": "foreman-config"}
    with quiet, EmbeddedStack(parameters=parameters) as stack:
        stack.create_config_bucket()
        seed_health(stack, {number: 10.0 for number in range(labourers) if number % 10 == 0})
        config = {}
        for number in range(labourers):
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{labourer_name(number)}"
            if number in busy:
                arn = stack.add_function(labourer_name(number), lambda event, context: {"ok": True})
            config[labourer_name(number)] = {"arn": arn, "max_simultaneous_invocations": CAP,
                                             "health_metrics": health_metrics(number)}  # fmt: skip
        stack.put_config({"task_config": {"labourers": config}})
        store = TaskStore(mark_harness(stack.client("dynamodb")), Tables())
        for number in busy:
            store.create_tasks(labourer_name(number), [{"n": n} for n in range(TASKS_EACH)])
        for service in ("stepfunctions", "lambda", "cloudwatch", "ssm", "s3"):
            mark_harness(stack.client(service))
        meter = ApiMeter(task_functions=[labourer_name(number) for number in busy], tasks_table=Tables().tasks)
        began = time.perf_counter()
        with meter.measure() as log:
            execution = stack.run()
        seconds = time.perf_counter() - began
    invoked = sum(int(line.get("invoked", 0)) for line in execution.output["labourers"].values())
    return SweepPoint(
        labourers=labourers,
        busy=len(busy),
        invoked=invoked,
        control_calls=log.control_total,
        metric_calls=log.calls["cloudwatch.GetMetricData"],
        distinct_metrics=3 * labourers,
        largest_state_bytes=execution.largest_state_bytes(compact=True),
        history_events=execution.events,
        seconds=seconds,
    )


def sweep_rows(points: list[SweepPoint]) -> list[list[str]]:
    """The table: one row per size, the ratios against the first (smallest) size."""
    base = points[0]
    rows = []
    for point in points:
        scale = point.labourers / base.labourers
        rows.append(
            [
                f"{point.labourers:,}",
                f"{point.busy} / {point.invoked}",
                f"{point.control_calls:,} ({point.control_calls / point.labourers:.2f})",
                f"{point.metric_calls} ({point.distinct_metrics:,})",
                f"{point.largest_state_bytes:,} ({point.largest_state_bytes / point.labourers:.0f})",
                f"{point.history_events:,}",
                f"{point.control_calls / base.control_calls / scale:.2f}",
                f"{point.largest_state_bytes / base.largest_state_bytes / scale:.2f}",
                f"{point.seconds:.1f}",
            ]
        )
    return rows


SWEEP_HEADERS = [
    "labourers",
    "busy / invoked",
    "control calls (per labourer)",
    "GetMetricData (metrics)",
    "largest state, B (per labourer)",
    "history events",
    "calls/labourer vs first",
    "state/labourer vs first",
    "s (emulator)",
]
