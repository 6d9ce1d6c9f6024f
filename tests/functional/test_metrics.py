"""Fetching metric values with GetMetricData, on moto (and botocore's Stubber where moto can't help).

moto 5.2.5 answers GetMetricData for Average, Maximum, Minimum, Sum and SampleCount, but a percentile ``Stat``
(``p90``) makes it fail inside the mock (``TypeError`` from ``float(None)``), and it neither pages (``NextToken``)
nor throttles nor enforces the 500-query limit. Those paths are tested with a Stubber on a real client (no network:
the Stubber answers before any request is sent).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from moto import mock_aws

from foreman_core.config import MetricQuery
from foreman_core.metrics import (
    MAX_THROTTLING_RETRIES,
    FetchedValue,
    fetch_metric_values,
    metric_data_query,
    reduce_values,
)

NAMESPACE = "Foreman/Test"
DIMENSIONS = (("DBInstanceIdentifier", "db1"),)


def query(stat: str = "Average", *, name: str = "CPUUtilization", window: int = 300, **kwargs: Any) -> MetricQuery:
    return MetricQuery(namespace=NAMESPACE, metric_name=name, dimensions=DIMENSIONS, stat=stat, window=window, **kwargs)


class CallCounter:
    """Counts GetMetricData calls and the queries in each, from botocore's before-parameter-build event."""

    def __init__(self) -> None:
        self.queries_per_call: list[int] = []
        self.requests: list[dict[str, Any]] = []

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        self.queries_per_call.append(len(params["MetricDataQueries"]))
        self.requests.append(params)

    @property
    def calls(self) -> int:
        return len(self.queries_per_call)


def counted(client: Any) -> CallCounter:
    counter = CallCounter()
    client.meta.events.register("before-parameter-build.monitoring.GetMetricData", counter)
    return counter


class Sleeps(list[float]):
    """An injectable ``sleep`` that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("cloudwatch", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def put(client: Any, now: datetime, seconds_ago: int, *values: float, name: str = "CPUUtilization") -> None:
    dims = [{"Name": k, "Value": v} for k, v in DIMENSIONS]
    client.put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {"MetricName": name, "Dimensions": dims, "Value": v, "Timestamp": now - timedelta(seconds=seconds_ago)}
            for v in values
        ],
    )


def result(query_id: str, values: list[float], status: str = "Complete", **extra: Any) -> dict[str, Any]:
    return {"Id": query_id, "Label": query_id, "Values": values, "StatusCode": status, **extra}


# --- on moto ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stat", "expected"),
    [
        # two periods: {10, 30} 120 s ago (period average 20) and {60} 60 s ago.
        ("Average", 40.0),  # mean of the per-period averages (20 + 60) / 2, unweighted like sosw (not 33.3)
        ("Maximum", 60.0),
        ("Minimum", 10.0),
        ("Sum", 100.0),
        ("SampleCount", 3.0),
    ],
)
def test_each_statistic_on_moto(cloudwatch: Any, now: datetime, stat: str, expected: float) -> None:
    put(cloudwatch, now, 120, 10.0, 30.0)
    put(cloudwatch, now, 60, 60.0)
    q = query(stat)
    values = fetch_metric_values(cloudwatch, [q], now=now)
    assert list(values) == [q]
    assert values[q].value == pytest.approx(expected)
    assert values[q].error is None


def test_all_statistics_in_one_call_on_moto(cloudwatch: Any, now: datetime) -> None:
    put(cloudwatch, now, 120, 10.0, 30.0)
    put(cloudwatch, now, 60, 60.0)
    counter = counted(cloudwatch)
    queries = [query(stat) for stat in ("Average", "Maximum", "Minimum", "Sum", "SampleCount")]
    values = fetch_metric_values(cloudwatch, queries, now=now)
    assert [values[q].value for q in queries] == pytest.approx([40.0, 60.0, 10.0, 100.0, 3.0])
    assert counter.queries_per_call == [5]


def test_window_excludes_older_datapoints(cloudwatch: Any, now: datetime) -> None:
    put(cloudwatch, now, 60, 5.0)
    put(cloudwatch, now, 1000, 500.0)
    assert fetch_metric_values(cloudwatch, [query("Maximum")], now=now)[query("Maximum")].value == 5.0
    assert fetch_metric_values(cloudwatch, [query("Maximum", window=1200)], now=now)[query("Maximum", window=1200)] == (
        FetchedValue(500.0, None)
    )


def test_the_newest_datapoint_and_its_timestamp_come_with_the_value(cloudwatch: Any, now: datetime) -> None:
    put(cloudwatch, now, 200, 30.0)
    put(cloudwatch, now, 60, 70.0)
    fetched = fetch_metric_values(cloudwatch, [query("Average")], now=now)[query("Average")]
    assert fetched.value == pytest.approx(50.0)  # the window's reduction, as the feelings read it
    assert fetched.latest == 70.0  # what target tracking reads
    assert fetched.timestamp == pytest.approx((now - timedelta(seconds=60)).timestamp(), abs=1)


def test_no_data_is_none_without_error(cloudwatch: Any, now: datetime) -> None:
    put(cloudwatch, now, 60, 42.0, name="SomethingElse")
    q = query("Average")
    assert fetch_metric_values(cloudwatch, [q], now=now) == {q: FetchedValue(None, None)}


def test_naive_now_is_taken_as_utc(cloudwatch: Any, now: datetime) -> None:
    put(cloudwatch, now, 60, 7.0)
    q = query("Maximum")
    assert fetch_metric_values(cloudwatch, [q], now=now.replace(tzinfo=None))[q] == FetchedValue(7.0, None)


def test_identical_queries_are_fetched_once(cloudwatch: Any, now: datetime) -> None:
    put(cloudwatch, now, 60, 12.0)
    counter = counted(cloudwatch)
    q1, q2 = query("Average"), query("Average")  # equal but distinct objects, e.g. two labourers on one database
    values = fetch_metric_values(cloudwatch, [q1, q2, q1, query("Maximum")], now=now)
    assert values == {query("Average"): FetchedValue(12.0, None), query("Maximum"): FetchedValue(12.0, None)}
    assert counter.queries_per_call == [2]


def test_1201_queries_take_three_calls_of_at_most_500(cloudwatch: Any, now: datetime) -> None:
    put(cloudwatch, now, 60, 3.0, name="Metric7")
    counter = counted(cloudwatch)
    queries = [query("Maximum", name=f"Metric{i}") for i in range(1201)]
    values = fetch_metric_values(cloudwatch, queries, now=now)
    assert counter.queries_per_call == [500, 500, 201]
    assert len(values) == 1201
    assert values[query("Maximum", name="Metric7")] == FetchedValue(3.0, None)
    assert sum(v.value is None and v.error is None for v in values.values()) == 1200
    assert [q["Id"] for q in counter.requests[2]["MetricDataQueries"]][:3] == ["m0", "m1", "m2"]


def test_different_windows_take_separate_calls(cloudwatch: Any, now: datetime) -> None:
    put(cloudwatch, now, 60, 1.0)
    put(cloudwatch, now, 900, 100.0)
    counter = counted(cloudwatch)
    short, long_ = query("Maximum", window=300), query("Maximum", window=3600)
    values = fetch_metric_values(cloudwatch, [short, long_, query("Minimum", window=300)], now=now)
    assert values[short] == FetchedValue(1.0, None)
    assert values[long_] == FetchedValue(100.0, None)
    assert sorted(counter.queries_per_call) == [1, 2]
    windows = sorted(r["EndTime"] - r["StartTime"] for r in counter.requests)
    assert windows == [timedelta(seconds=300), timedelta(seconds=3600)]
    assert all(r["EndTime"] == now for r in counter.requests)


def test_request_shape(cloudwatch: Any, now: datetime) -> None:
    counter = counted(cloudwatch)
    q = query("p99.9", period=300, unit="Percent")
    plain = MetricQuery(namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible", stat="Sum")
    assert metric_data_query(q, "m0") == {
        "Id": "m0",
        "MetricStat": {
            "Metric": {
                "Namespace": NAMESPACE,
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "db1"}],
            },
            "Period": 300,
            "Stat": "p99.9",
            "Unit": "Percent",
        },
        "ReturnData": True,
    }
    fetch_metric_values(cloudwatch, [plain], now=now)
    (request,) = counter.requests
    assert request == {
        "MetricDataQueries": [metric_data_query(plain, "m0")],
        "StartTime": now - timedelta(seconds=300),
        "EndTime": now,
        "ScanBy": "TimestampDescending",
    }
    assert "Unit" not in request["MetricDataQueries"][0]["MetricStat"]
    assert request["MetricDataQueries"][0]["MetricStat"]["Metric"]["Dimensions"] == []


def test_unsupported_statistic_is_an_error_and_not_sent(cloudwatch: Any, now: datetime) -> None:
    counter = counted(cloudwatch)
    values = fetch_metric_values(cloudwatch, [query("Median")], now=now)
    assert values[query("Median")].value is None
    assert "Median" in (values[query("Median")].error or "")
    assert counter.calls == 0


# --- with a Stubber: percentiles, paging, errors, throttling ---------------------------------------------------------


def test_percentile_is_the_max_of_the_periods(stubbed: tuple[Any, Stubber], now: datetime) -> None:
    # moto 5.2.5 can't compute percentiles in GetMetricData (it fails inside the mock), so the answer is stubbed.
    client, stubber = stubbed
    q = query("p90")
    stubber.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("m0", [120.0, 480.0, 250.0])]},
        {
            "MetricDataQueries": [metric_data_query(q, "m0")],
            "StartTime": now - timedelta(seconds=300),
            "EndTime": now,
            "ScanBy": "TimestampDescending",
        },
    )
    assert fetch_metric_values(client, [q], now=now) == {q: FetchedValue(480.0, None)}


def test_next_token_pages_are_merged_by_id(stubbed: tuple[Any, Stubber], now: datetime) -> None:
    client, stubber = stubbed
    avg, total, empty = query("Average"), query("Sum"), query("Maximum", name="Empty")
    first = {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY, "ScanBy": "TimestampDescending"}
    stubber.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [result("m0", [10.0, 20.0], "PartialData"), result("m1", [1.0], "PartialData")],
            "NextToken": "page-2",
        },
        first,
    )
    stubber.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("m0", [30.0, 40.0]), result("m1", [2.0, 3.0])], "NextToken": "page-3"},
        {**first, "NextToken": "page-2"},
    )
    stubber.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("m1", [4.0]), result("m2", [])]},
        {**first, "NextToken": "page-3"},
    )
    values = fetch_metric_values(client, [avg, total, empty], now=now)
    assert values == {avg: FetchedValue(25.0, None), total: FetchedValue(10.0, None), empty: FetchedValue(None, None)}


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("InvalidParameterValue", "The parameter MetricDataQueries.member.1.MetricStat.Period is invalid."),
        ("AccessDenied", "User is not authorized to perform: cloudwatch:GetMetricData"),
    ],
)
def test_a_failing_call_reports_errors_on_its_queries_only(
    stubbed: tuple[Any, Stubber], now: datetime, code: str, message: str
) -> None:
    client, stubber = stubbed
    failing, fine = query("Average", window=300), query("Average", window=600)
    stubber.add_client_error("get_metric_data", service_error_code=code, service_message=message, http_status_code=400)
    stubber.add_response("get_metric_data", {"MetricDataResults": [result("m0", [5.0])]})
    sleeps = Sleeps()
    values = fetch_metric_values(client, [failing, fine], now=now, sleep=sleeps)
    assert values == {failing: FetchedValue(None, f"{code}: {message}"), fine: FetchedValue(5.0, None)}
    assert sleeps == []  # not a throttling error: no retry


def test_any_client_exception_is_reported(now: datetime) -> None:
    class Broken:
        def get_metric_data(self, **_: Any) -> dict[str, Any]:
            raise ConnectionError("connection reset by peer")

    values = fetch_metric_values(Broken(), [query("Average"), query("Sum")], now=now)
    assert values == {
        query("Average"): FetchedValue(None, "ConnectionError: connection reset by peer"),
        query("Sum"): FetchedValue(None, "ConnectionError: connection reset by peer"),
    }


def test_a_failing_second_page_fails_the_whole_call(stubbed: tuple[Any, Stubber], now: datetime) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "get_metric_data", {"MetricDataResults": [result("m0", [1.0], "PartialData")], "NextToken": "t"}
    )
    stubber.add_client_error("get_metric_data", service_error_code="InternalFailure", service_message="boom")
    assert fetch_metric_values(client, [query()], now=now) == {query(): FetchedValue(None, "InternalFailure: boom")}


def test_per_query_status_codes_and_messages_are_errors(stubbed: tuple[Any, Stubber], now: datetime) -> None:
    client, stubber = stubbed
    ok, forbidden, internal, messaged, missing = (query(name=f"M{i}") for i in range(5))
    stubber.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                result("m0", [1.0]),
                result("m1", [], "Forbidden"),
                result("m2", [9.0], "InternalError", Messages=[{"Code": "InternalError", "Value": "try later"}]),
                result("m3", [2.0], Messages=[{"Code": "MaxQueryTimeRangeExceed", "Value": "too long"}]),
            ],
            "Messages": [{"Code": "Notice", "Value": "something happened"}],
        },
    )
    values = fetch_metric_values(client, [ok, forbidden, internal, messaged, missing], now=now)
    assert values[ok] == FetchedValue(1.0, None)
    assert values[forbidden] == FetchedValue(None, "StatusCode Forbidden")
    assert values[internal] == FetchedValue(None, "StatusCode InternalError; InternalError: try later")
    assert values[messaged] == FetchedValue(None, "MaxQueryTimeRangeExceed: too long")
    assert values[missing].value is None
    assert "no result" in (values[missing].error or "")
    assert "Notice: something happened" in (values[missing].error or "")


@pytest.mark.parametrize("code", ["Throttling", "ThrottlingException"])
def test_throttling_is_retried(stubbed: tuple[Any, Stubber], now: datetime, code: str) -> None:
    client, stubber = stubbed
    stubber.add_client_error("get_metric_data", service_error_code=code, service_message="Rate exceeded")
    stubber.add_client_error("get_metric_data", service_error_code=code, service_message="Rate exceeded")
    stubber.add_response("get_metric_data", {"MetricDataResults": [result("m0", [7.0])]})
    sleeps = Sleeps()
    assert fetch_metric_values(client, [query()], now=now, sleep=sleeps) == {query(): FetchedValue(7.0, None)}
    assert len(sleeps) == 2
    assert 0 < sleeps[0] <= sleeps[1] <= 1.0  # short, jittered, growing


def test_throttling_gives_up_after_three_retries(stubbed: tuple[Any, Stubber], now: datetime) -> None:
    client, stubber = stubbed
    for _ in range(MAX_THROTTLING_RETRIES + 1):
        stubber.add_client_error("get_metric_data", service_error_code="Throttling", service_message="Rate exceeded")
    sleeps = Sleeps()
    values = fetch_metric_values(client, [query()], now=now, sleep=sleeps)
    assert values == {query(): FetchedValue(None, "Throttling: Rate exceeded")}
    assert len(sleeps) == MAX_THROTTLING_RETRIES == 3
    assert sum(sleeps) < 2.0


def test_max_queries_per_call_is_bounded(now: datetime) -> None:
    with pytest.raises(ValueError, match="max_queries_per_call"):
        fetch_metric_values(object(), [], now=now, max_queries_per_call=501)


@pytest.mark.parametrize(
    ("stat", "values", "expected"),
    [
        ("Average", [1.0, 2.0, 6.0], 3.0),
        ("Maximum", [1.0, 7.0, 2.0], 7.0),
        ("Minimum", [3.0, 1.5, 2.0], 1.5),
        ("Sum", [0.1] * 10, 1.0),
        ("SampleCount", [3.0, 4.0], 7.0),
        ("p99", [100.0, 300.0, 200.0], 300.0),
        ("p99.9", [5.0], 5.0),
        ("Average", [], None),
        ("p50", [], None),
    ],
)
def test_reduce_values(stat: str, values: list[float], expected: float | None) -> None:
    assert reduce_values(stat, values) == expected


@pytest.mark.parametrize("stat", ["Median", "average", "p101", "p", "tm99"])
def test_reduce_values_rejects_unsupported_statistics(stat: str) -> None:
    with pytest.raises(ValueError, match="unsupported statistic"):
        reduce_values(stat, [1.0])


def test_one_malformed_query_fails_alone_not_its_batch_neighbours(now: datetime) -> None:
    bad = query("Average", name="Broken")
    good = [query("Average", name=f"Fine{i}") for i in range(5)]

    class RejectsBroken:
        """Fails the whole call, as CloudWatch does, when any query of it is malformed."""

        def __init__(self) -> None:
            self.calls = 0

        def get_metric_data(self, **request: Any) -> dict[str, Any]:
            self.calls += 1
            names = [q["MetricStat"]["Metric"]["MetricName"] for q in request["MetricDataQueries"]]
            if "Broken" in names:
                raise ClientError({"Error": {"Code": "InvalidParameterValue", "Message": "bad query"}}, "GetMetricData")
            return {"MetricDataResults": [result(q["Id"], [7.0]) for q in request["MetricDataQueries"]]}

    client = RejectsBroken()
    values = fetch_metric_values(client, [good[0], good[1], bad, *good[2:]], now=now)

    assert values[bad] == FetchedValue(None, "InvalidParameterValue: bad query")
    assert all(values[q] == FetchedValue(7.0, None) for q in good)
    assert client.calls <= 1 + 2 * 3  # the failed call, then halves down to the bad query: O(log n) more calls


def test_a_call_wide_error_is_not_split(now: datetime) -> None:
    class Denied:
        def __init__(self) -> None:
            self.calls = 0

        def get_metric_data(self, **_: Any) -> dict[str, Any]:
            self.calls += 1
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetMetricData")

    client = Denied()
    values = fetch_metric_values(client, [query("Average", name=f"M{i}") for i in range(8)], now=now)
    assert client.calls == 1
    assert {value.error for value in values.values()} == {"AccessDenied: no"}
