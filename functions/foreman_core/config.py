"""The orchestrator config: sosw's format, parsed into typed, validated objects.

The input is the dict sosw's Orchestrator reads (``{"task_config": {...}}``, see ``../shared/seed``), as Python or as
its JSON form. ``parse_config`` returns an ``OrchestratorConfig`` or raises one ``ConfigError`` that lists every
problem with its path (``task_config.labourers.some_function.health_metrics.SomeDBCPU.feelings``) and its reason.
``OrchestratorConfig.to_dict`` gives the canonical form (JSON-safe, string keys), which ``parse_config`` reads back
to an equal object: that is how the config travels between the state machine's steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from foreman_core.greenfield import GREENFIELD_INVOCATION_DELTA, GREENFIELD_TASK_STEP

ECO_STATUSES = (0, 1, 2, 3, 4)
"""sosw's eco statuses: 0 Bad, 1 Poor, 2 Moderate, 3 Good, 4 High."""

STATUS_NAMES = {0: "Bad", 1: "Poor", 2: "Moderate", 3: "Good", 4: "High"}

DEFAULT_COEFFICIENTS: dict[int, float] = {0: 0.0, 1: 0.0, 2: 0.5, 3: 0.75, 4: 1.0}
"""sosw's ``invocation_number_coefficient``: the share of ``max_simultaneous_invocations`` a status allows."""

DEFAULT_MAX_SIMULTANEOUS_INVOCATIONS = 1
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_DURATION = 900
DEFAULT_COOLDOWN = 300
DEFAULT_PERIOD = 60
DEFAULT_STATISTIC = "Average"
DEFAULT_AGGREGATION_TIME_SLICE = 300
DEFAULT_NO_DATA_STATUS = 0
"""A metric with no datapoints counts as Bad unless configured otherwise: fail safe, never invoke blind."""
DEFAULT_MAX_TASKS_PER_EXECUTION = 1000


class ConfigError(ValueError):
    """The config is wrong. ``problems`` lists every ``(path, reason)``; the message shows them one per line."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {path}: {reason}" for path, reason in self.problems)
        super().__init__(f"invalid orchestrator config ({len(self.problems)} problem(s)):\n{lines}")

    @property
    def paths(self) -> list[str]:
        """The paths of the problems, in the order they were found."""
        return [path for path, _ in self.problems]


class Comparison(str, Enum):
    """How a metric value is compared with a feeling's threshold: ``value <op> threshold`` means "at least this
    status". ``<``/``<=``: lower is better; ``>``/``>=``: higher is better."""

    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    @property
    def lower_is_better(self) -> bool:
        return self in (Comparison.LT, Comparison.LE)

    def holds(self, value: float, threshold: float) -> bool:
        """``value <op> threshold``."""
        if self is Comparison.LT:
            return value < threshold
        if self is Comparison.LE:
            return value <= threshold
        if self is Comparison.GT:
            return value > threshold
        return value >= threshold


@dataclass(frozen=True)
class MetricQuery:
    """One CloudWatch metric statistic over a window. Equal queries are fetched once per run.

    ``stat`` is one of Average, Maximum, Minimum, Sum, SampleCount or a percentile such as ``p90`` / ``p99.9``.
    ``window`` is sosw's ``MetricAggregationTimeSlice``: the seconds back from now that are read.
    """

    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...] = ()
    period: int = DEFAULT_PERIOD
    stat: str = DEFAULT_STATISTIC
    unit: str | None = None
    window: int = DEFAULT_AGGREGATION_TIME_SLICE


@dataclass(frozen=True)
class HealthMetric:
    """One of a labourer's ``health_metrics``: a query and how the labourer feels about its value.

    ``feelings`` are ``(status, threshold)`` pairs sorted by status, highest first. A value gets the highest status
    whose threshold it satisfies under ``comparison``, else 0. ``no_data_status`` is the status when the query
    returns no datapoints.
    """

    name: str
    query: MetricQuery
    feelings: tuple[tuple[int, float], ...]
    comparison: Comparison
    no_data_status: int = DEFAULT_NO_DATA_STATUS


@dataclass(frozen=True)
class Labourer:
    """A worker Lambda function with its own queue and its limits.

    ``arn`` is what is invoked (a function ARN, possibly qualified, or a function name). ``duration`` +
    ``cooldown`` is how long after its invocation a task without ``completed_at`` counts as running before it is
    expired. ``max_duration`` (seconds) is the retry-delay unit; ``None`` means "the function's Timeout".
    """

    id: str
    arn: str
    max_simultaneous_invocations: int = DEFAULT_MAX_SIMULTANEOUS_INVOCATIONS
    health_metrics: tuple[HealthMetric, ...] = ()
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_duration: int | None = None
    duration: int = DEFAULT_DURATION
    cooldown: int = DEFAULT_COOLDOWN


@dataclass(frozen=True)
class Tables:
    """DynamoDB table and index names (sosw's defaults)."""

    tasks: str = "sosw_tasks"
    greenfield_index: str = "sosw_tasks_greenfield"
    closed: str = "sosw_closed_tasks"
    closed_index: str = "labourer_task_status_with_time"
    retry: str = "sosw_retry_tasks"
    retry_index: str = "labourer_id_greenfield"


@dataclass(frozen=True)
class OrchestratorConfig:
    """Everything a run needs, validated. Labourers keep the config's order."""

    labourers: tuple[Labourer, ...] = ()
    tables: Tables = field(default_factory=Tables)
    coefficients: dict[int, float] = field(default_factory=lambda: dict(DEFAULT_COEFFICIENTS))
    greenfield_invocation_delta: int = GREENFIELD_INVOCATION_DELTA
    greenfield_task_step: int = GREENFIELD_TASK_STEP
    max_tasks_per_execution: int = DEFAULT_MAX_TASKS_PER_EXECUTION

    def labourer(self, labourer_id: str) -> Labourer:
        """The labourer with this id; ``KeyError`` naming the known ids if there is none."""
        for labourer in self.labourers:
            if labourer.id == labourer_id:
                return labourer
        known = ", ".join(lab.id for lab in self.labourers) or "none"
        raise KeyError(f"unknown labourer {labourer_id!r} (configured: {known})")

    def coefficient(self, status: int) -> float:
        """The share of the cap that ``status`` allows."""
        return self.coefficients[status]

    def to_dict(self) -> dict[str, Any]:
        """The canonical sosw-format dict (JSON-safe, string keys) that ``parse_config`` reads back."""
        raise NotImplementedError


def parse_config(raw: Any, *, tables: Tables | None = None) -> OrchestratorConfig:
    """Parse and validate a sosw orchestrator config (dict, or its JSON text).

    ``tables`` gives the table names to use where the config names none (a deployment's own tables); by default
    sosw's names. Raises ``ConfigError`` listing every problem, each with its path and reason, with a "did you
    mean" for misspelt keys.
    """
    raise NotImplementedError
