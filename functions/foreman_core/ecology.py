"""The ecology: how healthy a labourer's dependencies are, and how many tasks that allows. Pure logic, no AWS.

A labourer's health metrics each give an eco status 0..4 (0 Bad, 1 Poor, 2 Moderate, 3 Good, 4 High) from their
value and ``feelings``; the labourer's status is the **worst** of them (4 when it has no metrics). The status picks a
coefficient, and ``desired_invocations`` turns the labourer's cap into the number of tasks to invoke now.

Differences from sosw's ``EcologyManager`` (on purpose): higher-is-better metrics (``>``/``>=``) work, a metric with
no datapoints or a failed fetch gets the metric's ``no_data_status`` (reported, never an exception), and the floor of
``cap * coefficient`` is exact for coefficients such as 0.29.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from foreman_core.config import ECO_STATUSES, STATUS_NAMES, HealthMetric, Labourer, MetricQuery
from foreman_core.metrics import FetchedValue

MAX_STATUS = max(ECO_STATUSES)
"""The status of a labourer with no health metrics: full capacity."""


def status_for_value(value: float, metric: HealthMetric) -> int:
    """The eco status ``value`` earns under ``metric``'s feelings.

    Feelings are tried from the highest status down; the first ``(status, threshold)`` with
    ``value <comparison> threshold`` gives the status. If none holds (or ``value`` is NaN) the status is 0 (Bad).
    With ``<=`` and ``{3: 50, 4: 25}``: 25 → 4, 30 → 3, 51 → 0. With ``>=`` and ``{3: 50, 4: 75}``: 75 → 4, 60 → 3,
    49 → 0.
    """
    for status, threshold in sorted(metric.feelings, key=lambda feeling: feeling[0], reverse=True):
        if metric.comparison.holds(value, threshold):
            return status
    return 0


def desired_invocations(cap: int, coefficient: float, running: int) -> int:
    """How many tasks to invoke now: ``max(floor(cap * coefficient) - running, 0)``.

    The product is computed in decimal on the coefficient as written (``repr``), so ``100 * 0.29`` is 29, not the
    28 that binary floating point gives. ``running`` larger than the allowance gives 0, never a negative number.
    Raises ``ValueError`` for a NaN or infinite coefficient.
    """
    if not math.isfinite(coefficient):
        raise ValueError(f"coefficient must be a finite number, got {coefficient!r}")
    allowed = math.floor(Decimal(cap) * Decimal(repr(float(coefficient))))
    return max(allowed - running, 0)


def _json_number(value: float | None) -> float | None:
    """``value`` if it can go into JSON (``None`` for NaN and infinities)."""
    if value is None or not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class MetricReading:
    """What one health metric said in this run.

    ``no_data`` is True when CloudWatch returned no datapoints; ``error`` is set when the fetch failed. In both cases
    ``value`` is ``None`` and ``status`` is the metric's ``no_data_status``.
    """

    metric: str
    value: float | None
    status: int
    no_data: bool
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: the fields plus ``status_name``."""
        return {
            "metric": self.metric,
            "value": _json_number(self.value),
            "status": self.status,
            "status_name": STATUS_NAMES.get(self.status, str(self.status)),
            "no_data": self.no_data,
            "error": self.error,
        }


@dataclass(frozen=True)
class LabourerHealth:
    """A labourer's eco status and why: ``set_by`` names the metric that gave the (worst) status, the first one in
    config order on a tie; it is ``None`` only when the labourer has no health metrics (status 4)."""

    status: int
    set_by: str | None
    readings: tuple[MetricReading, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: the fields plus ``status_name``, readings as a list of dicts."""
        return {
            "status": self.status,
            "status_name": STATUS_NAMES.get(self.status, str(self.status)),
            "set_by": self.set_by,
            "readings": [reading.to_dict() for reading in self.readings],
        }


def read_metric(metric: HealthMetric, fetched: FetchedValue | None) -> MetricReading:
    """The reading of one metric from its fetched value (``None`` when it was not fetched at all: an error). A metric
    without feelings (only target tracking reads it) has status 4 whatever it reads: it never throttles by status,
    its controller does (and cuts to its floor on no data)."""
    if not metric.feelings:
        value = fetched.value if fetched is not None and fetched.error is None else None
        error = "NotFetched: no value for this metric" if fetched is None else fetched.error
        return MetricReading(metric.name, value, MAX_STATUS, value is None and error is None, error)
    if fetched is None:
        return MetricReading(metric.name, None, metric.no_data_status, False, "NotFetched: no value for this metric")
    if fetched.error is not None:
        return MetricReading(metric.name, None, metric.no_data_status, False, fetched.error)
    if fetched.value is None:
        return MetricReading(metric.name, None, metric.no_data_status, True, None)
    return MetricReading(metric.name, fetched.value, status_for_value(fetched.value, metric), False, None)


def assess(labourer: Labourer, values: Mapping[MetricQuery, FetchedValue]) -> LabourerHealth:
    """The labourer's health from the values fetched for its metrics' queries (see ``fetch_metric_values``).

    The worst metric wins; no metrics gives 4. A metric with no datapoints, a failed fetch, or a query missing from
    ``values`` gets the metric's ``no_data_status`` and is flagged in its reading. Never raises for missing values.
    """
    readings = tuple(read_metric(metric, values.get(metric.query)) for metric in labourer.health_metrics)
    if not readings:
        return LabourerHealth(MAX_STATUS, None, ())
    worst = min(readings, key=lambda reading: reading.status)  # first of the worst on a tie
    return LabourerHealth(worst.status, worst.metric, readings)
