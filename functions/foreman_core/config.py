"""The orchestrator config: sosw's format, parsed into typed, validated objects.

The input is the dict sosw's Orchestrator reads (``{"task_config": {...}}``, see ``../shared/seed``), as Python or as
its JSON form. ``parse_config`` returns an ``OrchestratorConfig`` or raises one ``ConfigError`` that lists every
problem with its path (``task_config.labourers.some_function.health_metrics.SomeDBCPU.feelings``) and its reason.
``OrchestratorConfig.to_dict`` gives the canonical form (JSON-safe, string keys), which ``parse_config`` reads back
to an equal object: that is how the config travels between the state machine's steps.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cached_property
from typing import Any

from foreman_core import task_budget
from foreman_core.greenfield import GREENFIELD_INVOCATION_DELTA, GREENFIELD_TASK_STEP, RunMarkers
from foreman_core.target_tracking import Direction, TargetTracking

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


class RetryBackoff(str, Enum):
    """How a labourer's retry delay grows with the attempts a task has had (``retry_backoff``).

    ``linear`` (sosw's): ``base * attempts``. ``exponential``: ``base * 2 ** (attempts - 1)``.
    """

    LINEAR = "linear"
    EXPONENTIAL = "exponential"


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
    returns no datapoints. A metric that only feeds the labourer's target tracking may have no feelings (``()``):
    it then never sets the eco status.
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

    Retry delay (the Scavenger's, for a task that expired or reported a failure after ``attempts`` invocations):
    ``base * attempts`` (``retry_backoff`` linear, sosw's) or ``base * 2 ** (attempts - 1)`` (exponential), where
    ``base`` is ``retry_delay_seconds`` if set, else ``max_duration``, else the function's Timeout; capped at
    ``max_retry_delay_seconds`` when set. After ``max_attempts`` invocations a task is closed as dead instead.
    """

    id: str
    arn: str
    max_simultaneous_invocations: int = DEFAULT_MAX_SIMULTANEOUS_INVOCATIONS
    health_metrics: tuple[HealthMetric, ...] = ()
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_duration: int | None = None
    duration: int = DEFAULT_DURATION
    cooldown: int = DEFAULT_COOLDOWN
    retry_delay_seconds: int | None = None
    retry_backoff: RetryBackoff = RetryBackoff.LINEAR
    max_retry_delay_seconds: int | None = None
    target_tracking: TargetTracking | None = None
    """Hold one of ``health_metrics`` at a target (``foreman_core.target_tracking``); ``None``: feelings only."""

    def tracked_metric(self) -> HealthMetric | None:
        """The health metric its target tracking holds at the target (``None`` without target tracking)."""
        if self.target_tracking is None:
            return None
        return next((m for m in self.health_metrics if m.name == self.target_tracking.metric), None)


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
    max_tasks_per_execution: int = task_budget.DEFAULT_TASKS
    exact_queue_depth: bool = False
    """Count every queued task for the ``QueueDepth`` metric (reads the whole queue on every run) instead of the
    two-item estimate from the queue's first and last positions. See ``foreman_core.queue_report``."""
    idle_labourer_metrics: bool = False
    """``False`` (the default): a labourer's metrics are emitted only in a run where it is not idle (it has tasks
    queued, running, fetched or done) and a dead-task count only when not zero, so a large, mostly idle deployment
    pays for the custom metrics of its work, not of its labourers (CloudWatch bills a metric for the hours it
    receives data). ``True``: every labourer's metrics every run (a dashboard draws a line, not gaps). See
    ``report_line.is_idle``."""

    closed_tasks_ttl_days: int | None = None
    """Days after which a closed task (completed or dead) expires from the closed table, by DynamoDB's TTL on
    ``TTL_ATTRIBUTE`` (``foreman_expires_at``; the template enables it on the tables it creates). ``None`` (the
    default, as in sosw): closed tasks are kept for ever."""

    def labourer(self, labourer_id: str) -> Labourer:
        """The labourer with this id; ``KeyError`` naming the known ids if there is none."""
        found = self._by_id.get(labourer_id)
        if found is not None:
            return found
        known = ", ".join(lab.id for lab in self.labourers[:20]) or "none"
        more = f" and {len(self.labourers) - 20} more" if len(self.labourers) > 20 else ""
        raise KeyError(f"unknown labourer {labourer_id!r} (configured: {known}{more})")

    @cached_property
    def _by_id(self) -> dict[str, Labourer]:
        return {labourer.id: labourer for labourer in self.labourers}

    def fingerprint(self) -> str:
        """The SHA-256 (hex) of the canonical form (``to_dict``, keys sorted): two configs that read the same have
        the same fingerprint, whatever their layout or the order of their keys. A run's state carries it instead of
        the config (``config_source.ConfigReference``)."""
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def markers(self, labourer_id: str, start: int) -> RunMarkers:
        """The labourer's greenfield markers for a run that started at ``start``: every step of a run, and the
        Scavenger, compute the same from the config alone (``start``, ``invoked = start +
        greenfield_invocation_delta`` are the same for every labourer; ``expired`` follows its duration and
        cooldown)."""
        labourer = self.labourer(labourer_id)
        return RunMarkers.at(
            start, duration=labourer.duration, cooldown=labourer.cooldown, delta=self.greenfield_invocation_delta
        )

    def coefficient(self, status: int) -> float:
        """The share of the cap that ``status`` allows."""
        return self.coefficients[status]

    def to_dict(self) -> dict[str, Any]:
        """The canonical sosw-format dict (JSON-safe, string keys) that ``parse_config`` reads back."""
        return {
            "task_config": {
                "dynamo_db_config": {"table_name": self.tables.tasks, "index_greenfield": self.tables.greenfield_index},
                "sosw_closed_tasks_table": self.tables.closed,
                "sosw_closed_tasks_labourer_status_index": self.tables.closed_index,
                "sosw_retry_tasks_table": self.tables.retry,
                "sosw_retry_tasks_greenfield_index": self.tables.retry_index,
                "labourers": {lab.id: _labourer_to_dict(lab) for lab in self.labourers},
                "greenfield_invocation_delta": self.greenfield_invocation_delta,
                "greenfield_task_step": self.greenfield_task_step,
            },
            "invocation_number_coefficient": {str(status): float(c) for status, c in sorted(self.coefficients.items())},
            "max_tasks_per_execution": self.max_tasks_per_execution,
            "exact_queue_depth": self.exact_queue_depth,
            "idle_labourer_metrics": self.idle_labourer_metrics,
            **({} if self.closed_tasks_ttl_days is None else {"closed_tasks_ttl_days": self.closed_tasks_ttl_days}),
        }


DIMENSION_VALUE_CHARS = 1024
"""The longest dimension value CloudWatch accepts (API reference, ``Dimension``)."""


def dimension_value_problem(value: str) -> str | None:
    """Why CloudWatch would refuse ``value`` as a dimension value (``None``: it would not): its API reference says a
    value has 1 to 1,024 characters, only ASCII, no ASCII control characters, at least one non-whitespace one.
    EMF metrics with such a value are dropped, not refused: the check must come first."""
    if len(value) > DIMENSION_VALUE_CHARS:
        return f"at most {DIMENSION_VALUE_CHARS:,} characters, got {len(value):,}"
    wrong = next((char for char in value if ord(char) > 126 or ord(char) < 32), None)
    if wrong is not None:
        kind = "a control character" if ord(wrong) < 32 or ord(wrong) == 127 else "a non-ASCII character"
        return f"only printable ASCII characters, got {kind} {wrong!r} at position {value.index(wrong)}"
    if not value.strip():
        return "at least one character that is not whitespace"
    return None


def deployment_table_problems(config: OrchestratorConfig, deployment: Tables) -> list[tuple[str, str]]:
    """``(path, reason)`` for each table or index the config names other than the deployment's (the ones its IAM
    policies let it read and write); each reason names the allowed value."""
    return [
        (path, f"names {kind} {configured!r}, but this deployment's {kind} is {deployed!r}")
        for path, kind, configured, deployed in (
            ("task_config.dynamo_db_config.table_name", "table", config.tables.tasks, deployment.tasks),
            ("task_config.sosw_closed_tasks_table", "table", config.tables.closed, deployment.closed),
            ("task_config.sosw_retry_tasks_table", "table", config.tables.retry, deployment.retry),
            (
                "task_config.dynamo_db_config.index_greenfield",
                "index",
                config.tables.greenfield_index,
                deployment.greenfield_index,
            ),
            (
                "task_config.sosw_retry_tasks_greenfield_index",
                "index",
                config.tables.retry_index,
                deployment.retry_index,
            ),
        )
        if configured != deployed
    ]


def check_deployment_tables(config: OrchestratorConfig, deployment: Tables) -> None:
    """Raise ``ConfigError`` if the config names tables or indexes other than the deployment's.

    LoadConfig refuses such a config at the start of every run, so ``foreman config put`` refuses to store one.
    """
    problems = deployment_table_problems(config, deployment)
    if problems:
        raise ConfigError(problems)


ROOT_PATH = "<root>"
"""The path of a problem with the config as a whole (invalid JSON, not an object)."""


class JsonObject(dict[str, Any]):
    """A JSON object read by ``loads_json``: a dict (the last of repeated keys wins, as in ``json.loads``) that
    remembers which keys were repeated, so ``parse_config`` reports them instead of silently keeping one."""

    duplicate_keys: tuple[str, ...] = ()


def _object_remembering_duplicates(pairs: list[tuple[str, Any]]) -> JsonObject:
    result = JsonObject(pairs)
    if len(result) < len(pairs):
        counts: dict[str, int] = {}
        for key, _ in pairs:
            counts[key] = counts.get(key, 0) + 1
        result.duplicate_keys = tuple(key for key, count in counts.items() if count > 1)
    return result


def loads_json(text: str | bytes | bytearray) -> Any:
    """``json.loads`` for config text: every object is a ``JsonObject`` that remembers its repeated keys.

    Every place that reads a config from text (a file, SSM, sosw's config table, the CLI) uses this, so a labourer
    given twice is an error with its path rather than a silent "last one wins". Raises ``json.JSONDecodeError``.
    """
    return json.loads(text, object_pairs_hook=_object_remembering_duplicates)


def parse_config(
    raw: Any, *, tables: Tables | None = None, orchestrator_type: str = task_budget.STANDARD
) -> OrchestratorConfig:
    """Parse and validate a sosw orchestrator config (dict, or its JSON text).

    ``tables`` gives the table names to use where the config names none (a deployment's own tables); by default
    sosw's names. ``orchestrator_type`` (the deployment's STANDARD or EXPRESS) sets the default and the bound of
    ``max_tasks_per_execution`` (``task_budget``). Raises ``ConfigError`` listing every problem, each with its
    path and reason, with a "did you mean" for misspelt keys.

    Where Foreman reads differently from sosw (all deliberate): ``'<='``-style operators and higher-is-better
    thresholds work; ``Name`` is read as ``MetricName``; status keys may be ints or numeric strings everywhere,
    including ``invocation_number_coefficient``; a labourer's explicit ``max_simultaneous_invocations: 0`` means
    "never invoke" (sosw falls back to the task_config value for any falsy value); labourer ``duration`` and
    ``cooldown`` are configurable.

    Examples
    --------
    >>> cfg = parse_config({"task_config": {"labourers": {"worker": {"arn": "worker"}}}})
    >>> cfg.labourer("worker").max_simultaneous_invocations
    1
    """
    parser = _Parser(tables or Tables(), orchestrator_type)
    root = parser.root_object(raw)
    config = parser.orchestrator(root) if root is not None else None
    if parser.problems or config is None:
        raise ConfigError(parser.problems)
    return config


def read_back(raw: Any) -> OrchestratorConfig:
    """Read back the canonical config LoadConfig put in the run's state (``OrchestratorConfig.to_dict``). LoadConfig
    checked its ``max_tasks_per_execution`` against the deployment's workflow type; the steps after it do not know
    the type, so the larger bound (Express's) applies here."""
    return parse_config(raw, orchestrator_type=task_budget.EXPRESS)


_TOP_KEYS = (
    "task_config",
    "invocation_number_coefficient",
    "max_simultaneous_invocations",
    "max_tasks_per_execution",
    "exact_queue_depth",
    "idle_labourer_metrics",
    "closed_tasks_ttl_days",
)
_TOP_IGNORED = (
    "init_clients",
    "meta_handler_config",
    "default_simultaneous_invocations",
    "lifetime_stats_params",
    "dead_sns_topic",
    "test",
)
_TABLE_KEYS = {  # task_config key -> Tables field
    "sosw_closed_tasks_table": "closed",
    "sosw_closed_tasks_labourer_status_index": "closed_index",
    "sosw_retry_tasks_table": "retry",
    "sosw_retry_tasks_greenfield_index": "retry_index",
}
_TASK_KEYS = (
    "dynamo_db_config",
    *_TABLE_KEYS,
    "ecology_config",
    "labourers",
    "max_simultaneous_invocations",
    "max_attempts",
    "greenfield_invocation_delta",
    "greenfield_task_step",
    "max_closed_to_analyse_for_duration",
    "invocation_number_coefficient",
)
_PER_LABOURER_ATTEMPTS = "max_attempts_"
_DYNAMO_KEYS = ("table_name", "index_greenfield", "row_mapper", "required_fields", "field_names", "hash_key")
_ROW_TYPES = ("S", "N", "M", "BOOL")
_ECOLOGY_KEYS = ("default_metric_values", "no_data_status")
_METRIC_DEFAULT_KEYS = ("Period", "Statistics", "MetricAggregationTimeSlice")
_LABOURER_KEYS = (
    "arn",
    "max_simultaneous_invocations",
    "max_attempts",
    "max_duration",
    "duration",
    "cooldown",
    "retry_delay_seconds",
    "retry_backoff",
    "max_retry_delay_seconds",
    "health_metrics",
    "target_tracking",
)
_COMPUTED_LABOURER_KEYS = ("start", "invoked", "expired", "health", "average_duration")
_METRIC_KEYS = ("details", "feelings", "feeling_comparison_operator", "no_data_status")
_TARGET_TRACKING_KEYS = ("metric", "target", "direction", "floor", "max_step", "tolerance", "cut_margin")
_DETAILS_KEYS = (
    "MetricName",
    "Name",
    "Namespace",
    "Dimensions",
    "Period",
    "Statistics",
    "ExtendedStatistics",
    "Unit",
    "MetricAggregationTimeSlice",
)
HIGH_RESOLUTION_PERIODS = (1, 5, 10, 20, 30)
"""The periods under a minute CloudWatch accepts (high-resolution metrics); otherwise a multiple of 60 seconds."""
_STATISTICS = ("Average", "Maximum", "Minimum", "Sum", "SampleCount")
_PERCENTILE = re.compile(r"p(\d+(?:\.\d+)?)")
_OPERATOR_NAMES = {Comparison.LT: "lt", Comparison.LE: "le", Comparison.GT: "gt", Comparison.GE: "ge"}
_OPERATORS: dict[str, Comparison] = {
    **{op.value: op for op in Comparison},
    **{name: op for op, name in _OPERATOR_NAMES.items()},
    **{f"__{name}__": op for op, name in _OPERATOR_NAMES.items()},
}
_QUALIFIER = r"(?::[A-Za-z0-9$_-]{1,128})?"
_FUNCTION_ARN = re.compile(rf"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{{12}}:function:[A-Za-z0-9_-]{{1,64}}{_QUALIFIER}")
_FUNCTION_NAME = re.compile(rf"(?:\d{{12}}:function:)?[A-Za-z0-9_-]{{1,64}}{_QUALIFIER}")
_STATUS_HELP = "expected a status 0..4 (" + ", ".join(f"{s} {n}" for s, n in STATUS_NAMES.items()) + ")"


@dataclass(frozen=True)
class _MetricDefaults:
    """``ecology_config``'s defaults for every health metric."""

    period: int = DEFAULT_PERIOD
    stat: str = DEFAULT_STATISTIC
    window: int = DEFAULT_AGGREGATION_TIME_SLICE
    no_data_status: int = DEFAULT_NO_DATA_STATUS


@dataclass(frozen=True)
class _LabourerDefaults:
    """What a labourer gets for the keys it leaves out."""

    cap: int
    attempts: int
    attempts_by_id: Mapping[str, int]
    metrics: _MetricDefaults


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _describe(value: object) -> str:
    """A short description of a wrong value for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"string {shown!r}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _suggestion(word: str, candidates: Collection[str]) -> str:
    matches = difflib.get_close_matches(word, list(candidates), n=1)
    return f"; did you mean {matches[0]!r}?" if matches else ""


def _number_text(value: float) -> str:
    return f"{value:g}"


def _status_of(value: object) -> int | None:
    """A status from an int or a numeric string (JSON object keys are strings); None if it is not 0..4."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        status = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]+", value):
        status = int(value)
    else:
        return None
    return status if status in ECO_STATUSES else None


def _statistic_problem(stat: object, *, percentile_only: bool) -> str | None:
    """Why ``stat`` is not a usable CloudWatch statistic, or None if it is."""
    if not isinstance(stat, str):
        return f"expected a statistic name, got {_describe(stat)}"
    if not percentile_only and stat in _STATISTICS:
        return None
    match = _PERCENTILE.fullmatch(stat)
    if match and 0 < float(match.group(1)) < 100:
        return None
    if percentile_only:
        return f"not a percentile: {stat!r}; ExtendedStatistics takes one percentile such as 'p90' or 'p99.9'"
    return (
        f"unknown statistic {stat!r}; expected one of {', '.join(_STATISTICS)} or a percentile such as 'p90'"
        + _suggestion(stat, _STATISTICS)
    )


def _computed_key_hint(key: str) -> str | None:
    if key in _COMPUTED_LABOURER_KEYS:
        return f"{key!r} is computed per run; cannot be configured"
    return None


def _top_level_hint(key: str) -> str | None:
    """sosw merges the whole config into TaskManager's, so task_config keys at the top level are a common slip."""
    if key in _TASK_KEYS or key.startswith(_PER_LABOURER_ATTEMPTS):
        return f"unknown key at the top level; did you mean 'task_config.{key}'? (it belongs under task_config)"
    return None


class _Parser:
    """Walks the raw config once, collecting every problem instead of stopping at the first."""

    def __init__(self, tables: Tables, orchestrator_type: str = task_budget.STANDARD) -> None:
        self.problems: list[tuple[str, str]] = []
        self.default_tables = tables
        self.orchestrator_type = orchestrator_type

    def fail(self, path: str, reason: str) -> None:
        self.problems.append((path, reason))

    # ---- generic values -------------------------------------------------------------------------------------

    def root_object(self, raw: Any) -> Mapping[Any, Any] | None:
        if isinstance(raw, str | bytes | bytearray):
            try:
                raw = loads_json(raw)
            except json.JSONDecodeError as error:
                self.fail(ROOT_PATH, f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}")
                return None
            except ValueError as error:  # bytes that are not UTF-8/16/32
                self.fail(ROOT_PATH, f"invalid JSON: {error}")
                return None
        if not isinstance(raw, Mapping):
            self.fail(ROOT_PATH, f"expected an object with a 'task_config' key, got {_describe(raw)}")
            return None
        self.duplicates(raw, "")
        return raw

    def mapping(self, value: Any, path: str) -> Mapping[Any, Any] | None:
        if isinstance(value, Mapping):
            self.duplicates(value, path)
            return value
        self.fail(path, f"expected an object, got {_describe(value)}")
        return None

    def duplicates(self, obj: Mapping[Any, Any], path: str) -> None:
        for key in getattr(obj, "duplicate_keys", ()):
            self.fail(_join(path, key), "given more than once; JSON keeps only the last, so the others would be lost")

    def keys(
        self,
        obj: Mapping[Any, Any],
        path: str,
        allowed: Collection[str],
        *,
        ignored: Collection[str] = (),
        hint: Callable[[str], str | None] | None = None,
        skip: Callable[[str], bool] | None = None,
    ) -> None:
        """Report keys that are neither ``allowed`` nor ``ignored`` (``skip`` ones are checked elsewhere)."""
        for key in obj:
            if not isinstance(key, str):
                self.fail(_join(path, key), f"keys must be strings, got {_describe(key)}")
                continue
            if key in allowed or key in ignored or (skip is not None and skip(key)):
                continue
            reason = hint(key) if hint is not None else None
            self.fail(_join(path, key), reason or "unknown key" + _suggestion(key, allowed))

    def as_int(self, value: Any, path: str, *, minimum: int) -> int | None:
        """An int >= ``minimum``; integral floats (``10.0``) pass, booleans never do."""
        kind = "a non-negative integer" if minimum == 0 else "a positive integer" if minimum == 1 else f">= {minimum}"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected {kind}, got {_describe(value)}")
            return None
        if value < minimum:
            self.fail(path, f"expected {kind}, got {value}")
            return None
        return value

    def integer(self, obj: Mapping[Any, Any], key: str, path: str, *, minimum: int, default: int) -> int:
        value = self.optional_int(obj, key, path, minimum=minimum)
        return default if value is None else value

    def optional_int(self, obj: Mapping[Any, Any], key: str, path: str, *, minimum: int) -> int | None:
        if key not in obj:
            return None
        return self.as_int(obj[key], _join(path, key), minimum=minimum)

    def period(self, obj: Mapping[Any, Any], path: str, *, default: int) -> int:
        """A CloudWatch ``Period``: 1, 5, 10, 20, 30 (high-resolution metrics) or a multiple of 60 seconds."""
        period = self.optional_int(obj, "Period", path, minimum=1)
        if period is None:
            return default
        if period not in HIGH_RESOLUTION_PERIODS and period % 60:
            allowed = ", ".join(str(p) for p in HIGH_RESOLUTION_PERIODS)
            self.fail(
                _join(path, "Period"),
                f"CloudWatch does not accept a period of {period} s; expected {allowed} (high-resolution metrics) "
                "or a multiple of 60",
            )
            return default
        return period

    def flag(self, obj: Mapping[Any, Any], key: str, path: str, *, default: bool) -> bool:
        value = obj.get(key, default)
        if not isinstance(value, bool):
            self.fail(_join(path, key), f"expected true or false, got {_describe(value)}")
            return default
        return value

    def as_number(self, value: Any, path: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.fail(path, f"expected a number, got {_describe(value)}")
            return None
        return float(value)

    def text(self, obj: Mapping[Any, Any], key: str, path: str, default: str) -> str:
        if key not in obj:
            return default
        return self.as_text(obj[key], _join(path, key)) or default

    def required_text(self, obj: Mapping[Any, Any], key: str, path: str) -> str | None:
        if key not in obj:
            self.fail(_join(path, key), f"missing required key {key!r}")
            return None
        return self.as_text(obj[key], _join(path, key))

    def as_text(self, value: Any, path: str) -> str | None:
        if isinstance(value, str) and value:
            return value
        self.fail(path, f"expected a non-empty string, got {_describe(value)}")
        return None

    def status(self, obj: Mapping[Any, Any], key: str, path: str, default: int) -> int:
        if key not in obj:
            return default
        status = _status_of(obj[key])
        if status is None:
            self.fail(_join(path, key), f"{_STATUS_HELP}, got {_describe(obj[key])}")
            return default
        return status

    # ---- the orchestrator and task_config -------------------------------------------------------------------

    def orchestrator(self, raw: Mapping[Any, Any]) -> OrchestratorConfig:
        self.keys(raw, "", _TOP_KEYS, ignored=_TOP_IGNORED, hint=_top_level_hint)
        if "task_config" in raw:
            task = self.mapping(raw["task_config"], "task_config") or {}
        else:
            self.fail("task_config", "missing required key 'task_config'")
            task = {}
        top_cap = self.optional_int(raw, "max_simultaneous_invocations", "", minimum=0)
        config = self.task_config(task, "task_config", top_cap=top_cap)
        return replace(
            config,
            coefficients={**config.coefficients, **self.coefficients(raw, "")},
            max_tasks_per_execution=self.task_budget(raw),
            exact_queue_depth=self.flag(raw, "exact_queue_depth", "", default=False),
            idle_labourer_metrics=self.flag(raw, "idle_labourer_metrics", "", default=False),
            closed_tasks_ttl_days=self.optional_int(raw, "closed_tasks_ttl_days", "", minimum=1),
        )

    def task_budget(self, raw: Mapping[Any, Any]) -> int:
        """``max_tasks_per_execution``: at most what the workflow type's limit allows (``task_budget``)."""
        kind = self.orchestrator_type
        most = task_budget.most_tasks(kind)
        if "max_tasks_per_execution" not in raw:
            return task_budget.default_tasks(kind)
        budget = self.as_int(raw["max_tasks_per_execution"], "max_tasks_per_execution", minimum=1)
        if budget is not None and budget > most:
            self.fail(
                "max_tasks_per_execution",
                f"at most {most:,}, got {budget:,}: {task_budget.why_bounded(kind)}",
            )
        return budget or task_budget.default_tasks(kind)

    def task_config(self, task: Mapping[Any, Any], path: str, *, top_cap: int | None) -> OrchestratorConfig:
        """``task_config``; the top-level coefficients and ``max_tasks_per_execution`` are the caller's."""
        raw_labourers = task.get("labourers", {})
        ids = [key for key in raw_labourers if isinstance(key, str)] if isinstance(raw_labourers, Mapping) else None
        self.keys(
            task,
            path,
            (*_TASK_KEYS, *(f"{_PER_LABOURER_ATTEMPTS}{lab_id}" for lab_id in ids or ())),
            ignored=("init_clients",),
            skip=lambda key: key.startswith(_PER_LABOURER_ATTEMPTS),
        )
        tables = self.tables(task, path)
        cap = self.optional_int(task, "max_simultaneous_invocations", path, minimum=0)
        defaults = _LabourerDefaults(
            cap=next((c for c in (cap, top_cap) if c is not None), DEFAULT_MAX_SIMULTANEOUS_INVOCATIONS),
            attempts=self.integer(task, "max_attempts", path, minimum=1, default=DEFAULT_MAX_ATTEMPTS),
            attempts_by_id=self.attempts_by_labourer(task, path, ids),
            metrics=self.ecology(task, _join(path, "ecology_config")),
        )
        delta = self.integer(task, "greenfield_invocation_delta", path, minimum=1, default=GREENFIELD_INVOCATION_DELTA)
        step = self.integer(task, "greenfield_task_step", path, minimum=1, default=GREENFIELD_TASK_STEP)
        self.optional_int(task, "max_closed_to_analyse_for_duration", path, minimum=0)
        coefficients = {**DEFAULT_COEFFICIENTS, **self.coefficients(task, path)}
        labourers_path = _join(path, "labourers")
        labourers = self.labourers(self.mapping(raw_labourers, labourers_path) or {}, labourers_path, defaults)
        return OrchestratorConfig(
            labourers=labourers,
            tables=tables,
            coefficients=coefficients,
            greenfield_invocation_delta=delta,
            greenfield_task_step=step,
        )

    def coefficients(self, obj: Mapping[Any, Any], path: str) -> dict[int, float]:
        key = "invocation_number_coefficient"
        if key not in obj:
            return {}
        path = _join(path, key)
        raw = self.mapping(obj[key], path) or {}
        result: dict[int, float] = {}
        for status_key, value in raw.items():
            item_path = _join(path, status_key)
            status = _status_of(status_key)
            if status is None:
                self.fail(item_path, f"unknown status {status_key!r}; {_STATUS_HELP}")
                continue
            coefficient = self.as_number(value, item_path)
            if coefficient is not None and not 0 <= coefficient <= 1:
                self.fail(item_path, f"expected a number between 0 and 1, got {_number_text(coefficient)}")
            elif coefficient is not None:
                result[status] = coefficient
        return result

    def attempts_by_labourer(self, task: Mapping[Any, Any], path: str, ids: list[str] | None) -> dict[str, int]:
        """sosw's ``max_attempts_<labourer_id>`` keys; each must name a configured labourer."""
        result: dict[str, int] = {}
        for key, value in task.items():
            if not isinstance(key, str) or not key.startswith(_PER_LABOURER_ATTEMPTS):
                continue
            key_path = _join(path, key)
            labourer_id = key.removeprefix(_PER_LABOURER_ATTEMPTS)
            if ids is not None and labourer_id not in ids:
                self.fail(key_path, f"names no configured labourer ({labourer_id!r})" + _suggestion(labourer_id, ids))
                continue
            attempts = self.as_int(value, key_path, minimum=1)
            if attempts is not None:
                result[labourer_id] = attempts
        return result

    def tables(self, task: Mapping[Any, Any], path: str) -> Tables:
        defaults = self.default_tables
        tasks, greenfield_index = defaults.tasks, defaults.greenfield_index
        if "dynamo_db_config" in task:
            db_path = _join(path, "dynamo_db_config")
            db = self.mapping(task["dynamo_db_config"], db_path)
            if db is not None:
                self.keys(db, db_path, _DYNAMO_KEYS)
                tasks = self.text(db, "table_name", db_path, tasks)
                greenfield_index = self.text(db, "index_greenfield", db_path, greenfield_index)
                self.text(db, "hash_key", db_path, "")
                self.row_mapper(db, db_path)
                self.required_fields(db, db_path)
                self.field_names(db, db_path)
        others = {name: self.text(task, key, path, getattr(defaults, name)) for key, name in _TABLE_KEYS.items()}
        return Tables(tasks=tasks, greenfield_index=greenfield_index, **others)

    def row_mapper(self, db: Mapping[Any, Any], path: str) -> None:
        if "row_mapper" not in db:
            return
        path = _join(path, "row_mapper")
        for name, kind in (self.mapping(db["row_mapper"], path) or {}).items():
            if not isinstance(name, str) or kind not in _ROW_TYPES:
                self.fail(_join(path, name), f"expected one of {', '.join(_ROW_TYPES)}, got {_describe(kind)}")

    def required_fields(self, db: Mapping[Any, Any], path: str) -> None:
        if "required_fields" not in db:
            return
        path = _join(path, "required_fields")
        fields = db["required_fields"]
        if not isinstance(fields, list | tuple):
            self.fail(path, f"expected a list of attribute names, got {_describe(fields)}")
            return
        for index, name in enumerate(fields):
            self.as_text(name, _join(path, index))

    def field_names(self, db: Mapping[Any, Any], path: str) -> None:
        if "field_names" not in db:
            return
        path = _join(path, "field_names")
        for name, stored_as in (self.mapping(db["field_names"], path) or {}).items():
            if name != stored_as:
                self.fail(
                    _join(path, name),
                    f"renames {name!r} to {stored_as!r}; Foreman reads sosw's default attribute names only "
                    f"(identity mappings like {{{name!r}: {name!r}}} are fine)",
                )

    def ecology(self, task: Mapping[Any, Any], path: str) -> _MetricDefaults:
        if "ecology_config" not in task:
            return _MetricDefaults()
        ecology = self.mapping(task["ecology_config"], path)
        if ecology is None:
            return _MetricDefaults()
        self.keys(ecology, path, _ECOLOGY_KEYS, ignored=("init_clients",))
        period, stat, window = DEFAULT_PERIOD, DEFAULT_STATISTIC, DEFAULT_AGGREGATION_TIME_SLICE
        if "default_metric_values" in ecology:
            values_path = _join(path, "default_metric_values")
            values = self.mapping(ecology["default_metric_values"], values_path) or {}
            self.keys(values, values_path, _METRIC_DEFAULT_KEYS)
            period = self.period(values, values_path, default=period)
            window = self.integer(values, "MetricAggregationTimeSlice", values_path, minimum=1, default=window)
            if "Statistics" in values:
                statistics_path = _join(values_path, "Statistics")
                stat = self.single_statistic(values["Statistics"], statistics_path, percentile_only=False) or stat
        no_data_status = self.status(ecology, "no_data_status", path, DEFAULT_NO_DATA_STATUS)
        return _MetricDefaults(period=period, stat=stat, window=window, no_data_status=no_data_status)

    # ---- labourers ------------------------------------------------------------------------------------------

    def labourers(self, raw: Mapping[Any, Any], path: str, defaults: _LabourerDefaults) -> tuple[Labourer, ...]:
        result: list[Labourer] = []
        for labourer_id, settings in raw.items():
            labourer_path = _join(path, labourer_id)
            if not isinstance(labourer_id, str) or not labourer_id:
                self.fail(labourer_path, f"a labourer id must be a non-empty string, got {_describe(labourer_id)}")
                continue
            problem = dimension_value_problem(labourer_id)
            if problem is not None:  # its metrics' Labourer dimension: CloudWatch would drop them without a word
                self.fail(labourer_path, f"a labourer id is the Labourer dimension of its metrics: {problem}")
                continue
            labourer = self.mapping(settings, labourer_path)
            if labourer is not None:
                result.append(self.labourer(labourer_id, labourer, labourer_path, defaults))
        return tuple(result)

    def labourer(self, labourer_id: str, raw: Mapping[Any, Any], path: str, defaults: _LabourerDefaults) -> Labourer:
        self.keys(raw, path, _LABOURER_KEYS, hint=_computed_key_hint)
        attempts = defaults.attempts_by_id.get(labourer_id, defaults.attempts)
        max_duration = None
        if raw.get("max_duration") is not None:
            max_duration = self.as_int(raw["max_duration"], _join(path, "max_duration"), minimum=1)
        metrics_path = _join(path, "health_metrics")
        tracking = self.target_tracking(raw, path)
        tracked = tracking.metric if tracking is not None else None
        metrics = self.health_metrics(raw.get("health_metrics"), metrics_path, defaults, tracked=tracked)
        if tracking is not None and isinstance(raw.get("health_metrics"), Mapping):
            if tracking.metric not in raw["health_metrics"]:
                known = ", ".join(repr(str(name)) for name in raw["health_metrics"]) or "none"
                self.fail(
                    _join(_join(path, "target_tracking"), "metric"),
                    f"{tracking.metric!r} is not one of this labourer's health_metrics ({known})",
                )
        elif tracking is not None:
            self.fail(
                _join(path, "target_tracking"),
                "target tracking needs the metric in this labourer's health_metrics (its 'details': the query)",
            )
        return Labourer(
            id=labourer_id,
            arn=self.arn(raw, path),
            max_simultaneous_invocations=self.integer(
                raw, "max_simultaneous_invocations", path, minimum=0, default=defaults.cap
            ),
            health_metrics=metrics,
            max_attempts=self.integer(raw, "max_attempts", path, minimum=1, default=attempts),
            max_duration=max_duration,
            duration=self.integer(raw, "duration", path, minimum=1, default=DEFAULT_DURATION),
            cooldown=self.integer(raw, "cooldown", path, minimum=0, default=DEFAULT_COOLDOWN),
            retry_delay_seconds=self.optional_int(raw, "retry_delay_seconds", path, minimum=0),
            retry_backoff=self.retry_backoff(raw, path),
            max_retry_delay_seconds=self.optional_int(raw, "max_retry_delay_seconds", path, minimum=1),
            target_tracking=tracking,
        )

    def target_tracking(self, labourer: Mapping[Any, Any], path: str) -> TargetTracking | None:
        if "target_tracking" not in labourer:
            return None
        path = _join(path, "target_tracking")
        raw = self.mapping(labourer["target_tracking"], path)
        if raw is None:
            return None
        self.keys(raw, path, _TARGET_TRACKING_KEYS)
        metric = self.required_text(raw, "metric", path)
        target = None
        if "target" not in raw:
            self.fail(_join(path, "target"), "missing required key 'target' (the value to hold the metric at, e.g. 60)")
        else:
            target = self.as_number(raw["target"], _join(path, "target"))
        direction = raw.get("direction", Direction.BELOW.value)
        if direction not in [d.value for d in Direction]:
            accepted = ", ".join(repr(d.value) for d in Direction)
            self.fail(
                _join(path, "direction"),
                f"unknown direction {_describe(direction)}; expected one of {accepted} (the healthy side)",
            )
            direction = Direction.BELOW.value
        defaults = TargetTracking("", 0.0)
        tolerance = self.non_negative(raw, "tolerance", path, defaults.tolerance)
        cut_margin = self.non_negative(raw, "cut_margin", path, defaults.cut_margin)
        floor = self.integer(raw, "floor", path, minimum=0, default=defaults.floor)
        max_step = self.optional_int(raw, "max_step", path, minimum=1)
        if metric is None or target is None:
            return None
        return TargetTracking(metric, target, Direction(direction), floor, max_step, tolerance, cut_margin)

    def non_negative(self, raw: Mapping[Any, Any], key: str, path: str, default: float) -> float:
        if key not in raw:
            return default
        value = self.as_number(raw[key], _join(path, key))
        if value is not None and value < 0:
            self.fail(_join(path, key), f"expected a number >= 0, got {_number_text(value)}")
            return default
        return default if value is None else value

    def retry_backoff(self, raw: Mapping[Any, Any], path: str) -> RetryBackoff:
        value = raw.get("retry_backoff", RetryBackoff.LINEAR.value)
        for backoff in RetryBackoff:
            if value == backoff.value:
                return backoff
        accepted = ", ".join(repr(backoff.value) for backoff in RetryBackoff)
        self.fail(_join(path, "retry_backoff"), f"unknown backoff {_describe(value)}; expected one of {accepted}")
        return RetryBackoff.LINEAR

    def arn(self, raw: Mapping[Any, Any], path: str) -> str:
        arn = self.required_text(raw, "arn", path)
        if arn is None:
            return ""
        if not (_FUNCTION_ARN.fullmatch(arn) or _FUNCTION_NAME.fullmatch(arn)):
            self.fail(
                _join(path, "arn"),
                f"not a Lambda function ARN or name: {arn!r}; expected "
                "'arn:aws:lambda:<region>:<account id>:function:<name>[:<qualifier>]' or '<name>[:<qualifier>]'",
            )
        return arn

    # ---- health metrics -------------------------------------------------------------------------------------

    def health_metrics(
        self, raw: Any, path: str, defaults: _LabourerDefaults, *, tracked: str | None = None
    ) -> tuple[HealthMetric, ...]:
        if raw is None:
            return ()
        result: list[HealthMetric] = []
        for name, settings in (self.mapping(raw, path) or {}).items():
            metric_path = _join(path, name)
            if not isinstance(name, str) or not name:
                self.fail(metric_path, f"a metric name must be a non-empty string, got {_describe(name)}")
                continue
            metric = self.mapping(settings, metric_path)
            parsed = (
                None
                if metric is None
                else self.health_metric(name, metric, metric_path, defaults.metrics, tracked=name == tracked)
            )
            if parsed is not None:
                result.append(parsed)
        return tuple(result)

    def health_metric(
        self, name: str, raw: Mapping[Any, Any], path: str, defaults: _MetricDefaults, *, tracked: bool = False
    ) -> HealthMetric | None:
        """``tracked``: the labourer's target tracking holds this metric, so it may come without feelings."""
        self.keys(raw, path, _METRIC_KEYS)
        if tracked and "feelings" not in raw and "feeling_comparison_operator" not in raw:
            query = self.details(raw, path, defaults)
            status = self.status(raw, "no_data_status", path, defaults.no_data_status)
            return None if query is None else HealthMetric(name, query, (), Comparison.LE, status)
        query = self.details(raw, path, defaults)
        feelings = self.feelings(raw, path)
        comparison, meant = self.comparison(raw, path)
        no_data_status = self.status(raw, "no_data_status", path, defaults.no_data_status)
        if feelings is not None and meant is not None:  # check the order even under a misspelt operator
            self.check_order(feelings, meant, _join(path, "feelings"), assumed=comparison is None)
        if feelings is None or comparison is None or query is None:
            return None
        return HealthMetric(name, query, feelings, comparison, no_data_status)

    def details(self, raw: Mapping[Any, Any], path: str, defaults: _MetricDefaults) -> MetricQuery | None:
        path = _join(path, "details")
        if "details" not in raw:
            self.fail(path, "missing required key 'details' (the CloudWatch metric: MetricName, Namespace, ...)")
            return None
        details = self.mapping(raw["details"], path)
        if details is None:
            return None
        self.keys(details, path, _DETAILS_KEYS)
        metric_name = self.metric_name(details, path)
        namespace = self.required_text(details, "Namespace", path)
        dimensions = self.dimensions(details.get("Dimensions", []), _join(path, "Dimensions"))
        stat = self.statistic(details, path, defaults.stat)
        unit = None if details.get("Unit") is None else self.as_text(details["Unit"], _join(path, "Unit"))
        period = self.period(details, path, default=defaults.period)
        window = self.integer(details, "MetricAggregationTimeSlice", path, minimum=1, default=defaults.window)
        if metric_name is None or namespace is None or dimensions is None or stat is None:
            return None
        return MetricQuery(namespace, metric_name, dimensions, period, stat, unit, window)

    def metric_name(self, details: Mapping[Any, Any], path: str) -> str | None:
        if "MetricName" in details and "Name" in details:
            self.fail(path, "both 'MetricName' and 'Name' given; keep 'MetricName' ('Name' is sosw's documented alias)")
            return None
        if "Name" in details:
            return self.as_text(details["Name"], _join(path, "Name"))
        if "MetricName" in details:
            return self.as_text(details["MetricName"], _join(path, "MetricName"))
        self.fail(_join(path, "MetricName"), "missing required key 'MetricName' (or sosw's 'Name')")
        return None

    def dimensions(self, raw: Any, path: str) -> tuple[tuple[str, str], ...] | None:
        if not isinstance(raw, list | tuple):
            self.fail(path, f"expected a list of {{'Name': ..., 'Value': ...}}, got {_describe(raw)}")
            return None
        pairs: list[tuple[str, str]] = []
        for index, item in enumerate(raw):
            item_path = _join(path, index)
            dimension = self.mapping(item, item_path)
            if dimension is None:
                continue
            self.keys(dimension, item_path, ("Name", "Value"))
            name = self.required_text(dimension, "Name", item_path)
            value = self.required_text(dimension, "Value", item_path)
            if name is not None and value is not None:
                pairs.append((name, value))
        return tuple(pairs) if len(pairs) == len(raw) else None

    def statistic(self, details: Mapping[Any, Any], path: str, default: str) -> str | None:
        if "Statistics" in details and "ExtendedStatistics" in details:
            self.fail(path, "both 'Statistics' and 'ExtendedStatistics' given; give exactly one statistic in one")
            return None
        if "ExtendedStatistics" in details:
            extended_path = _join(path, "ExtendedStatistics")
            return self.single_statistic(details["ExtendedStatistics"], extended_path, percentile_only=True)
        if "Statistics" in details:
            return self.single_statistic(details["Statistics"], _join(path, "Statistics"), percentile_only=False)
        return default

    def single_statistic(self, raw: Any, path: str, *, percentile_only: bool) -> str | None:
        if not isinstance(raw, list | tuple):
            self.fail(path, f"expected a list with exactly one statistic, got {_describe(raw)}")
            return None
        if len(raw) != 1:
            self.fail(path, f"expected exactly one statistic, got {len(raw)}")
            return None
        problem = _statistic_problem(raw[0], percentile_only=percentile_only)
        if problem is not None:
            self.fail(_join(path, 0), problem)
            return None
        return str(raw[0])

    def feelings(self, raw: Mapping[Any, Any], path: str) -> tuple[tuple[int, float], ...] | None:
        path = _join(path, "feelings")
        if "feelings" not in raw:
            self.fail(path, "missing required key 'feelings' ({status: threshold}, e.g. {4: 25, 3: 50})")
            return None
        feelings = self.mapping(raw["feelings"], path)
        if feelings is None:
            return None
        if not feelings:
            self.fail(path, "no feelings; give at least one {status: threshold}, e.g. {4: 25, 3: 50}")
            return None
        thresholds: dict[int, float] = {}
        valid = True
        for key, value in feelings.items():
            status, threshold = _status_of(key), self.as_number(value, _join(path, key))
            if status is None:
                self.fail(_join(path, key), f"unknown status {key!r}; {_STATUS_HELP}")
            elif status in thresholds:
                self.fail(_join(path, key), f"status {status} is given twice")
            elif threshold is not None:
                thresholds[status] = threshold
                continue
            valid = False
        return tuple(sorted(thresholds.items(), reverse=True)) if valid else None

    def comparison(self, raw: Mapping[Any, Any], path: str) -> tuple[Comparison | None, Comparison | None]:
        """(the operator, or None if it is wrong; the operator meant: the same, or the one a misspelt ``=<`` or
        ``=>`` was meant to be, so the thresholds can still be checked and every problem reported at once)."""
        key = "feeling_comparison_operator"
        accepted = ", ".join(repr(name) for name in _OPERATORS)
        if key not in raw:
            self.fail(_join(path, key), f"missing required key {key!r} (one of {accepted})")
            return None, None
        value = raw[key]
        comparison = _OPERATORS.get(value) if isinstance(value, str) else None
        if comparison is not None:
            return comparison, comparison
        meant = _OPERATORS.get(value[::-1]) if isinstance(value, str) else None
        hint = f"; did you mean {meant.value!r}?" if meant is not None else ""
        self.fail(_join(path, key), f"unknown operator {_describe(value)}; expected one of {accepted}{hint}")
        return None, meant

    def check_order(
        self, feelings: tuple[tuple[int, float], ...], comparison: Comparison, path: str, *, assumed: bool = False
    ) -> None:
        """A better status must need a strictly better value, or a status could never be reached. ``assumed``: the
        operator is the one a misspelt operator was taken to mean (the message says so)."""
        lower = comparison.lower_is_better
        wrong = [
            f"status {low} ({_number_text(low_t)}) must be {'above' if lower else 'below'} "
            f"status {high} ({_number_text(high_t)})"
            for (high, high_t), (low, low_t) in itertools.pairwise(feelings)
            if (low_t <= high_t if lower else low_t >= high_t)
        ]
        if wrong:
            rule = (
                "lower is better, so thresholds must increase as the status falls"
                if lower
                else "higher is better, so thresholds must decrease as the status falls"
            )
            operator = f"{comparison.value!r}, the operator meant," if assumed else repr(comparison.value)
            self.fail(path, f"thresholds out of order for {operator} ({rule}): " + "; ".join(wrong))


def _labourer_to_dict(labourer: Labourer) -> dict[str, Any]:
    result: dict[str, Any] = {
        "arn": labourer.arn,
        "max_simultaneous_invocations": labourer.max_simultaneous_invocations,
        "max_attempts": labourer.max_attempts,
        "duration": labourer.duration,
        "cooldown": labourer.cooldown,
    }
    if labourer.max_duration is not None:
        result["max_duration"] = labourer.max_duration
    if labourer.retry_delay_seconds is not None:
        result["retry_delay_seconds"] = labourer.retry_delay_seconds
    result["retry_backoff"] = labourer.retry_backoff.value
    if labourer.max_retry_delay_seconds is not None:
        result["max_retry_delay_seconds"] = labourer.max_retry_delay_seconds
    result["health_metrics"] = {metric.name: _metric_to_dict(metric) for metric in labourer.health_metrics}
    if labourer.target_tracking is not None:
        result["target_tracking"] = labourer.target_tracking.to_dict()
    return result


def _metric_to_dict(metric: HealthMetric) -> dict[str, Any]:
    query = metric.query
    details: dict[str, Any] = {
        "MetricName": query.metric_name,
        "Namespace": query.namespace,
        "Dimensions": [{"Name": name, "Value": value} for name, value in query.dimensions],
        "Period": query.period,
        "Statistics": [query.stat],
    }
    if query.unit is not None:
        details["Unit"] = query.unit
    details["MetricAggregationTimeSlice"] = query.window
    if not metric.feelings:  # a metric only target tracking reads
        return {"details": details, "no_data_status": metric.no_data_status}
    return {
        "details": details,
        "feelings": {str(status): float(threshold) for status, threshold in metric.feelings},
        "feeling_comparison_operator": metric.comparison.value,
        "no_data_status": metric.no_data_status,
    }
