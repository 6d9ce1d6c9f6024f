"""Telemetry: the names of Foreman's metrics, how a run becomes CloudWatch metrics, and the logging and tracing that
every Lambda step shares.

Metrics go out as CloudWatch Embedded Metric Format (EMF) through Powertools: one JSON line on stdout per blob, which
Lambda ships to CloudWatch Logs and CloudWatch turns into metrics. No ``PutMetricData`` call and no permission for it.
The namespace is ``POWERTOOLS_METRICS_NAMESPACE`` (the template's ``MetricsNamespace``, default ``Foreman``).

- Per labourer, dimension ``Labourer`` (= the labourer id): every metric of ``METRICS``.
- Deployment-wide, no dimension: the metrics with a ``total`` in ``METRICS`` (what the alarms watch, so that a new
  labourer is covered without a new alarm).

Summarize emits one blob per labourer and one deployment-wide blob per run (``emit_run_report``). The Scavenger emits
``DeadTasks`` (``emit_dead_tasks``). Every blob carries the execution ARN as metadata (``execution``), which is not a
dimension: it costs nothing in metrics and lets Logs Insights find the run behind a datapoint.

Handlers wrap themselves in ``lambda_step``: structured JSON logs with the execution ARN on every line, the Lambda
context, and a traced handler (Powertools ``Tracer``, annotated with the execution ARN).

Examples
--------
>>> labourer_values({"invoked": 3, "skipped": 1, "running": 2, "desired": 4, "status": 3,
...     "queue": {"depth": 12, "depth_exact": False, "oldest_age_seconds": 40.0}}, cap=10)["QueueDepth"]
12.0
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from foreman_core.report_line import health_read, is_idle, line_value, set_aside_count

NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "Foreman"

LABOURER = "Labourer"
"""The dimension of every per-labourer metric; its value is the labourer id."""

# -- the metric vocabulary: one name per idea, used by the code, the template's alarms and dashboard, and the docs --

INVOKED = "Invoked"
SKIPPED = "Skipped"
RELEASED = "Released"
FAILED = "Failed"
LOST = "Lost"
SET_ASIDE = "SetAside"
RUNNING = "Running"
DESIRED = "Desired"
CAP = "Cap"
HEALTH_STATUS = "HealthStatus"
HEALTH_BLOCKED = "HealthBlocked"
QUEUE_DEPTH = "QueueDepth"
OLDEST_QUEUED_AGE = "OldestQueuedAgeSeconds"
DEAD_TASKS = "DeadTasks"
READ_CAPACITY_UNITS = "ReadCapacityUnits"


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name, unit, which step emits it, and what it means.

    ``per_labourer`` says what the ``Labourer``-dimension metric means (``None``: a metric of the whole run only);
    ``total`` what the metric without dimension means (``None``: not emitted without dimension); ``statistic`` is the
    one to read it with.
    """

    name: str
    unit: MetricUnit
    source: str
    per_labourer: str | None
    total: str | None = None
    statistic: str = "Sum"


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(INVOKED, MetricUnit.Count, "Summarize", "tasks claimed and invoked by this run"),
    MetricSpec(SKIPPED, MetricUnit.Count, "Summarize", "tasks another execution claimed first (overlapping runs)"),
    MetricSpec(RELEASED, MetricUnit.Count, "Summarize", "tasks whose invoke failed for good and were queued again"),
    MetricSpec(FAILED, MetricUnit.Count, "Summarize", "tasks whose claim or release failed with an error"),
    MetricSpec(
        LOST,
        MetricUnit.Count,
        "Summarize",
        "tasks of a child execution that ended without its outcomes (stopped, timed out, failed): each may or may not "
        "have been invoked; the Scavenger gives back the attempts of those that were not",
        total="tasks of failed child executions, all labourers",
    ),
    MetricSpec(SET_ASIDE, MetricUnit.Count, "Summarize", "malformed tasks moved to the closed table, not invoked"),
    MetricSpec(RUNNING, MetricUnit.Count, "Summarize", "tasks running when the run started", statistic="Maximum"),
    MetricSpec(DESIRED, MetricUnit.Count, "Summarize", "tasks the run wanted to start", statistic="Maximum"),
    MetricSpec(CAP, MetricUnit.Count, "Summarize", "the labourer's max_simultaneous_invocations", statistic="Maximum"),
    MetricSpec(
        HEALTH_STATUS, MetricUnit.NoUnit, "Summarize", "eco status 0 Bad .. 4 High (worst metric)", statistic="Minimum"
    ),
    MetricSpec(
        HEALTH_BLOCKED,
        MetricUnit.Count,
        "Summarize",
        "1 when its health allows no invocation (floor(cap x coefficient) = 0) while tasks wait, else 0",
        total="how many labourers are blocked by their health in this run",
        statistic="Maximum",
    ),
    MetricSpec(
        QUEUE_DEPTH,
        MetricUnit.Count,
        "Summarize",
        "queued tasks at the start of the run (estimated unless exact_queue_depth)",
        statistic="Maximum",
    ),
    MetricSpec(
        OLDEST_QUEUED_AGE,
        MetricUnit.Seconds,
        "Summarize",
        "age of the task at the head of the queue (0 when empty)",
        total="the largest over all labourers",
        statistic="Maximum",
    ),
    MetricSpec(
        READ_CAPACITY_UNITS,
        MetricUnit.Count,
        "Summarize",
        None,
        total="read capacity units the run's task reads consumed (ComputeEcology and FetchGreenfieldTasks)",
    ),
    MetricSpec(
        DEAD_TASKS,
        MetricUnit.Count,
        "Scavenger",
        "tasks closed as dead (out of attempts) by the Scavenger",
        total="tasks closed as dead, all labourers",
    ),
)
"""Every metric Foreman emits (``metric_names()`` for the names)."""

_SPECS = {spec.name: spec for spec in METRICS}


def metric_names() -> frozenset[str]:
    """The names of every metric Foreman emits."""
    return frozenset(_SPECS)


def dimension_sets(name: str) -> frozenset[tuple[str, ...]]:
    """The dimension sets metric ``name`` is emitted with: ``("Labourer",)`` unless it is the run's only, and, for
    the totals, ``()``."""
    spec = _SPECS[name]
    sets = {(LABOURER,)} if spec.per_labourer is not None else set()
    return frozenset(sets | {()} if spec.total is not None else sets)


def namespace() -> str:
    """The metrics namespace in force: ``POWERTOOLS_METRICS_NAMESPACE``, else ``Foreman``."""
    return os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE


# -- from a run report to metrics -------------------------------------------------------------------------------------


def labourer_values(line: Mapping[str, Any], *, cap: int) -> dict[str, float]:
    """The per-labourer metric values of one line of Summarize's report (``run.summarize``; a field it leaves out is
    zero, and a left-out ``queue`` is an empty one) and the labourer's ``cap`` from the config.

    The oldest queued age is left out when the head task had no ``created_at`` to tell it from: a missing datapoint,
    never a made-up one.
    """
    queue = line_value(line, "queue")
    values = {
        INVOKED: line.get("invoked", 0),
        SKIPPED: line.get("skipped", 0),
        RELEASED: line.get("released", 0),
        FAILED: line.get("failed", 0),
        LOST: line.get("lost", 0),
        SET_ASIDE: set_aside_count(line),
        RUNNING: line.get("running", 0),
        DESIRED: line.get("desired", 0),
        CAP: cap,
        HEALTH_STATUS: line["status"],
        HEALTH_BLOCKED: 1 if line.get("blocked_by_health") else 0,
        QUEUE_DEPTH: queue["depth"],
    }
    if queue.get("oldest_age_seconds") is not None:
        values[OLDEST_QUEUED_AGE] = queue["oldest_age_seconds"]
    if not health_read(line):  # nothing waited, or the run claimed nothing: a status nobody read is not reported
        del values[HEALTH_STATUS]
    return {name: float(value) for name, value in values.items()}


def run_values(lines: Mapping[str, Mapping[str, float]], report: Mapping[str, Any]) -> dict[str, float]:
    """The deployment-wide values of one run from every labourer's ``labourer_values``: labourers blocked by health
    (a count), the tasks of failed children (``Lost``), the oldest queued age (the max over labourers; 0 when nothing
    waits), and the read capacity units the run consumed (when ``report`` has them)."""
    values = {
        HEALTH_BLOCKED: float(sum(values[HEALTH_BLOCKED] for values in lines.values())),
        LOST: float(sum(values[LOST] for values in lines.values())),
        OLDEST_QUEUED_AGE: max((values.get(OLDEST_QUEUED_AGE, 0.0) for values in lines.values()), default=0.0),
    }
    if "read_units" in report:
        values[READ_CAPACITY_UNITS] = float(report["read_units"]["total"])
    return values


def emit_run_report(report: Mapping[str, Any], caps: Mapping[str, int], *, idle: bool = True) -> None:
    """Print the EMF blobs of one Orchestrator run (Summarize's report): one per labourer, then the deployment-wide
    one. Each carries the execution ARN as metadata. ``caps``: each labourer's ``max_simultaneous_invocations``.
    ``idle=False`` (the config's ``idle_labourer_metrics``) leaves out the blobs of labourers idle in the run
    (``report_line.is_idle``); the deployment-wide one still counts every labourer. A run that did not hold the
    lease read nothing (``run.compute_ecology``): it prints nothing, so its zeros never mix into a labourer's graph or
    break an alarm's streak."""
    if not report.get("lease", {}).get("held", True):
        return
    execution = report.get("execution")
    lines = {
        labourer_id: labourer_values(line, cap=caps.get(labourer_id, 0))
        for labourer_id, line in report["labourers"].items()
    }
    for labourer_id, values in lines.items():
        if not idle and is_idle(report["labourers"][labourer_id]):
            continue
        _flush(values, labourer_id=str(labourer_id), total=False, execution=execution)
    _flush(run_values(lines, report), labourer_id=None, total=True, execution=execution)


def emit_dead_tasks(labourer_id: str | None, count: int, *, execution: str | None = None) -> None:
    """Print a ``DeadTasks`` blob: ``count`` tasks closed as dead by one labourer (dimension ``Labourer``) or, with
    ``labourer_id`` ``None``, by one Scavenger call over all its labourers (no dimension: the deployment-wide
    metric, read with Sum, that the DeadTasks alarm watches).

    The Scavenger prints a labourer's blob only when it closed tasks as dead (with ``idle_labourer_metrics``, also 0
    for each labourer it scavenged), and the deployment-wide one once per call, 0 included: a labourer's metric is
    a custom metric billed for every hour it receives data, the deployment-wide one is a single metric.
    """
    metrics = _blob(execution)
    if labourer_id is not None:
        metrics.add_dimension(name=LABOURER, value=labourer_id)
    metrics.add_metric(name=DEAD_TASKS, unit=_SPECS[DEAD_TASKS].unit, value=float(count))
    metrics.flush_metrics()


def _blob(execution: str | None) -> EphemeralMetrics:
    # EphemeralMetrics keeps its own state (Metrics shares one set between all instances, which would mix the
    # labourers' blobs); service="" keeps Powertools from adding a "service" dimension the alarms would have to name.
    metrics = EphemeralMetrics(namespace=namespace(), service="")
    if execution:
        metrics.add_metadata(key="execution", value=execution)
    return metrics


def _flush(values: Mapping[str, float], *, labourer_id: str | None, total: bool, execution: str | None) -> None:
    metrics = _blob(execution)
    if labourer_id is not None:
        metrics.add_dimension(name=LABOURER, value=labourer_id)
    for name, value in values.items():
        spec = _SPECS[name]
        if total and spec.total is None:
            raise ValueError(f"{name} has no deployment-wide form (MetricSpec.total)")
        metrics.add_metric(name=name, unit=spec.unit, value=value)
    metrics.flush_metrics()


# -- logs and traces --------------------------------------------------------------------------------------------------

Handler = TypeVar("Handler", bound=Callable[..., Any])


def execution_of(event: Any) -> str | None:
    """The Step Functions execution ARN a step's event carries: ``event["execution"]`` (LoadConfig's payload, from
    ``$$.Execution.Id``) or ``event["run"]["execution"]`` (every later step's state, also under ``event["state"]``
    when the state machine adds context beside it, as for Summarize); ``None`` if neither."""
    if not isinstance(event, Mapping):
        return None
    if isinstance(event.get("state"), Mapping):
        return execution_of(event["state"])
    if isinstance(event.get("execution"), str):
        return str(event["execution"])
    run = event.get("run")
    if isinstance(run, Mapping) and isinstance(run.get("execution"), str):
        return str(run["execution"])
    return None


def lambda_step(
    logger: Logger,
    tracer: Tracer | None = None,
    *,
    keys: Callable[[Any], Mapping[str, Any]] | None = None,
) -> Callable[[Handler], Handler]:
    """Decorate a Lambda handler: every log line of the invocation carries ``execution`` (``execution_of(event)``)
    and whatever ``keys(event)`` adds; the Lambda context is logged (``inject_lambda_context``); with a ``tracer``
    the handler is a traced subsegment annotated ``execution`` (its response is not recorded: states are large).
    An exception is logged (``step failed``, with its traceback) and re-raised.

    The keys are per thread (Powertools' thread-safe keys), so handlers running side by side in one process (the
    embedded stack) never swap execution ids. A step started by a state machine passes ``$$.Execution.Id`` as
    ``execution`` in its payload or its state's ``run``. Create ``Logger()`` and ``Tracer()`` at module level in the
    handler's module, as Powertools expects; ``POWERTOOLS_TRACE_DISABLED`` (or running outside Lambda) turns
    tracing into a no-op.

    Example
    -------
    >>> logger = Logger(service="example")
    >>> @lambda_step(logger)
    ... def handler(event, context):
    ...     logger.info("hello")  # {"message": "hello", "execution": "arn:...", ...}
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def with_keys(event: Any, context: Any) -> Any:
            execution = execution_of(event)
            logger.thread_safe_clear_keys()
            logger.thread_safe_append_keys(execution=execution, **(keys(event) if keys else {}))
            if tracer is not None and execution:
                tracer.put_annotation(key="execution", value=execution)
            try:
                return handler(event, context)
            except Exception:
                logger.exception("step failed")  # the execution fails with it: say which one, with the traceback
                raise
            finally:
                logger.thread_safe_clear_keys()

        wrapped: Callable[..., Any] = logger.inject_lambda_context(clear_state=True)(with_keys)
        if tracer is not None:
            wrapped = tracer.capture_lambda_handler(capture_response=False)(wrapped)
        return functools.wraps(handler)(wrapped)  # type: ignore[return-value]

    return decorate
