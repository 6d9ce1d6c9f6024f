"""The ecology's pure logic: value → status, worst metric wins, no-data handling and the desired-invocations formula.

Includes sosw's own unit-test expectations (``test_ecology.py`` / ``test_orchestrator.py`` in sosw, see
``../shared/sosw-reference.md`` 1.3 and 3.4) and the cases sosw got wrong (``>=``/``>``, no datapoints).
"""

from __future__ import annotations

import json

import pytest

from foreman_core.config import DEFAULT_COEFFICIENTS, Comparison, HealthMetric, Labourer, MetricQuery
from foreman_core.ecology import (
    LabourerHealth,
    MetricReading,
    assess,
    desired_invocations,
    status_for_value,
)
from foreman_core.metrics import FetchedValue

CPU = MetricQuery(namespace="AWS/RDS", metric_name="CPUUtilization", dimensions=(("DBInstanceIdentifier", "db1"),))
FREE = MetricQuery(namespace="AWS/RDS", metric_name="FreeStorageSpace", dimensions=(("DBInstanceIdentifier", "db1"),))


def lower_is_better(comparison: Comparison = Comparison.LE, *, name: str = "SomeDBCPU", **kwargs: int) -> HealthMetric:
    """sosw's test metric: ``{3: 50, 4: 25}``, lower is better."""
    return HealthMetric(name=name, query=CPU, feelings=((4, 25.0), (3, 50.0)), comparison=comparison, **kwargs)


def higher_is_better(comparison: Comparison = Comparison.GE, *, name: str = "FreeSpace") -> HealthMetric:
    """The mirror case: ``{3: 50, 4: 75}``, higher is better."""
    return HealthMetric(name=name, query=FREE, feelings=((4, 75.0), (3, 50.0)), comparison=comparison)


# --- status_for_value ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 4), (1, 4), (25, 4), (25.000001, 3), (30, 3), (50, 3), (51, 0)],
)
def test_status_for_value_le_matches_sosw(value: float, expected: int) -> None:
    assert status_for_value(value, lower_is_better(Comparison.LE)) == expected


@pytest.mark.parametrize(("value", "expected"), [(24.99, 4), (25, 3), (49.99, 3), (50, 0), (51, 0)])
def test_status_for_value_lt_excludes_the_boundary(value: float, expected: int) -> None:
    assert status_for_value(value, lower_is_better(Comparison.LT)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(100, 4), (76, 4), (75, 4), (74.9, 3), (60, 3), (50, 3), (49.99, 0), (0, 0)],
)
def test_status_for_value_ge_works_unlike_sosw(value: float, expected: int) -> None:
    assert status_for_value(value, higher_is_better(Comparison.GE)) == expected


@pytest.mark.parametrize(("value", "expected"), [(75.01, 4), (75, 3), (50.01, 3), (50, 0)])
def test_status_for_value_gt_excludes_the_boundary(value: float, expected: int) -> None:
    assert status_for_value(value, higher_is_better(Comparison.GT)) == expected


def test_status_for_value_tries_the_highest_status_first_whatever_the_feelings_order() -> None:
    metric = HealthMetric(name="m", query=CPU, feelings=((2, 80.0), (3, 50.0), (4, 25.0)), comparison=Comparison.LE)
    assert [status_for_value(v, metric) for v in (10, 40, 70, 90)] == [4, 3, 2, 0]


def test_status_for_value_nan_is_bad() -> None:
    assert status_for_value(float("nan"), lower_is_better()) == 0
    assert status_for_value(float("nan"), higher_is_better()) == 0


# --- desired_invocations ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "expected"), [(0, 0), (1, 0), (2, 5), (3, 7), (4, 10)])
def test_desired_invocations_default_coefficients_cap_10(status: int, expected: int) -> None:
    assert desired_invocations(10, DEFAULT_COEFFICIENTS[status], 0) == expected


@pytest.mark.parametrize(
    ("cap", "coefficient", "running", "expected"),
    [
        (10, 0.75, 3, 4),  # floor(7.5) = 7, minus 3
        (10, 0.75, 7, 0),
        (10, 0.75, 8, 0),  # more running than allowed: 0, not -1
        (10, 1.0, 25, 0),
        (10, 0.5, 1, 4),
        (3, 0.75, 0, 2),  # sosw's moto case: floor(2.25)
        (1, 0.5, 0, 0),  # default cap 1 at Moderate: nothing
        (0, 1.0, 0, 0),
    ],
)
def test_desired_invocations_subtracts_running_after_the_floor(
    cap: int, coefficient: float, running: int, expected: int
) -> None:
    assert desired_invocations(cap, coefficient, running) == expected


@pytest.mark.parametrize(
    ("cap", "coefficient", "expected"),
    [(100, 0.29, 29), (100, 0.57, 57), (100, 0.58, 58), (1000, 0.001, 1), (10, 0.7, 7), (3, 0.1 * 3, 0)],
)
def test_desired_invocations_is_robust_to_float_error(cap: int, coefficient: float, expected: int) -> None:
    # 100 * 0.29 == 28.999999999999996 in binary floating point; 0.1 * 3 == 0.30000000000000004 (floor(0.9...) = 0)
    assert desired_invocations(cap, coefficient, 0) == expected


@pytest.mark.parametrize("coefficient", [float("nan"), float("inf")])
def test_desired_invocations_rejects_non_finite_coefficients(coefficient: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        desired_invocations(10, coefficient, 0)


# --- assess ----------------------------------------------------------------------------------------------------------


def labourer(*metrics: HealthMetric) -> Labourer:
    return Labourer(
        id="some_function",
        arn="arn:aws:lambda:us-east-1:000000000000:function:some_function",
        max_simultaneous_invocations=10,
        health_metrics=metrics,
    )


def test_assess_no_metrics_is_high_with_nobody_to_blame() -> None:
    health = assess(labourer(), {})
    assert health == LabourerHealth(status=4, set_by=None, readings=())
    assert health.to_dict() == {"status": 4, "status_name": "High", "set_by": None, "readings": []}


def test_assess_single_metric_as_in_sosw_moto_case() -> None:
    health = assess(labourer(lower_is_better()), {CPU: FetchedValue(40.0, None)})
    assert health.status == 3
    assert health.set_by == "SomeDBCPU"
    assert health.readings == (MetricReading("SomeDBCPU", 40.0, 3, no_data=False, error=None),)


@pytest.mark.parametrize(
    ("cpu", "free", "status", "set_by"),
    [
        (10.0, 90.0, 4, "SomeDBCPU"),  # tie: the first metric in config order
        (10.0, 60.0, 3, "FreeSpace"),
        (30.0, 90.0, 3, "SomeDBCPU"),
        (30.0, 10.0, 0, "FreeSpace"),
        (99.0, 60.0, 0, "SomeDBCPU"),
    ],
)
def test_assess_worst_metric_wins(cpu: float, free: float, status: int, set_by: str) -> None:
    health = assess(labourer(lower_is_better(), higher_is_better()), {CPU: FetchedValue(cpu), FREE: FetchedValue(free)})
    assert (health.status, health.set_by) == (status, set_by)
    assert [r.metric for r in health.readings] == ["SomeDBCPU", "FreeSpace"]


def test_assess_two_metrics_on_the_same_query_share_the_value() -> None:
    strict = HealthMetric(name="Strict", query=CPU, feelings=((4, 5.0), (3, 10.0)), comparison=Comparison.LE)
    health = assess(labourer(lower_is_better(), strict), {CPU: FetchedValue(20.0)})
    assert (health.status, health.set_by) == (0, "Strict")
    assert [r.status for r in health.readings] == [4, 0]


def test_assess_no_data_gets_the_default_no_data_status_bad() -> None:
    health = assess(labourer(lower_is_better()), {CPU: FetchedValue(None, None)})
    assert (health.status, health.set_by) == (0, "SomeDBCPU")
    assert health.readings == (MetricReading("SomeDBCPU", None, 0, no_data=True, error=None),)


def test_assess_no_data_gets_the_configured_no_data_status() -> None:
    health = assess(
        labourer(lower_is_better(no_data_status=3), higher_is_better()),
        {CPU: FetchedValue(None), FREE: FetchedValue(80.0)},
    )
    assert (health.status, health.set_by) == (3, "SomeDBCPU")
    assert health.readings[0] == MetricReading("SomeDBCPU", None, 3, no_data=True, error=None)
    assert health.readings[1].status == 4


def test_assess_fetch_error_gets_no_data_status_and_the_message() -> None:
    message = "AccessDenied: User is not authorized to perform cloudwatch:GetMetricData"
    health = assess(labourer(lower_is_better(no_data_status=2)), {CPU: FetchedValue(None, message)})
    assert (health.status, health.set_by) == (2, "SomeDBCPU")
    reading = health.readings[0]
    assert (reading.value, reading.status, reading.error, reading.no_data) == (None, 2, message, False)


def test_assess_error_wins_over_a_value_that_came_with_it() -> None:
    health = assess(labourer(lower_is_better()), {CPU: FetchedValue(1.0, "StatusCode InternalError")})
    assert health.status == 0
    assert health.readings[0].value is None
    assert health.readings[0].error == "StatusCode InternalError"


def test_assess_missing_value_never_raises() -> None:
    health = assess(labourer(lower_is_better(no_data_status=1)), {})
    assert health.status == 1
    assert health.readings[0].error is not None
    assert health.readings[0].value is None


def test_to_dict_is_json_safe() -> None:
    health = assess(
        labourer(lower_is_better(), higher_is_better(), lower_is_better(name="Weird")),
        {CPU: FetchedValue(float("nan")), FREE: FetchedValue(None, "Throttling: Rate exceeded")},
    )
    as_dict = health.to_dict()
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict
    assert as_dict == {
        "status": 0,
        "status_name": "Bad",
        "set_by": "SomeDBCPU",
        "readings": [
            {"metric": "SomeDBCPU", "value": None, "status": 0, "status_name": "Bad", "no_data": False, "error": None},
            {
                "metric": "FreeSpace",
                "value": None,
                "status": 0,
                "status_name": "Bad",
                "no_data": False,
                "error": "Throttling: Rate exceeded",
            },
            {"metric": "Weird", "value": None, "status": 0, "status_name": "Bad", "no_data": False, "error": None},
        ],
    }


def test_a_metric_without_feelings_never_sets_the_status_even_without_data() -> None:
    tracked = HealthMetric(name="DBCPU", query=CPU, feelings=(), comparison=Comparison.LE)
    labourer = Labourer(id="w", arn="w", health_metrics=(tracked, lower_is_better()))
    assert assess(labourer, {CPU: FetchedValue(99.0, None)}).status == 0  # the feelings metric says 99 is Bad
    alone = Labourer(id="w", arn="w", health_metrics=(tracked,))
    for fetched in (FetchedValue(99.0, None), FetchedValue(None, None), FetchedValue(None, "Throttling: slow")):
        reading = assess(alone, {CPU: fetched}).readings[0]
        assert (reading.status, reading.value, reading.no_data) == (
            4,
            fetched.value,
            fetched.value is None and fetched.ok,
        )
