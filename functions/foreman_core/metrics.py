"""Fetching CloudWatch metric values for the health metrics of one run, in as few calls as possible.

``fetch_metric_values`` turns a set of ``MetricQuery`` objects into one number each (or a reason why there is none):

- identical queries (equal ``MetricQuery`` objects, e.g. two labourers watching the same database) are fetched once;
- everything goes through ``GetMetricData``, at most ``MAX_QUERIES_PER_CALL`` (500) queries per call. One call has one
  ``StartTime``/``EndTime``, so queries are grouped by ``window`` first: a run costs
  ``sum(ceil(distinct queries with that window / 500))`` calls over the distinct windows, plus one call per extra
  ``NextToken`` page (only for very large results);
- the per-period values of a window are reduced to one number per statistic (see ``reduce_values``);
- nothing raises: a failed call, a throttled call that stays throttled, or a query CloudWatch reports an error for
  becomes ``FetchedValue(None, "<reason>")`` for the queries concerned, and the other calls still run.

sosw's ``EcologyManager`` made one ``GetMetricStatistics`` call per distinct metric and crashed on a metric with no
datapoints; here an empty metric is ``FetchedValue(None, None)`` and the ecology gives it its ``no_data_status``.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from foreman_core.aws_errors import error_code
from foreman_core.config import MetricQuery

MAX_QUERIES_PER_CALL = 500
"""GetMetricData's limit on ``MetricDataQueries`` per call."""

THROTTLING_ERROR_CODES = frozenset({"Throttling", "ThrottlingException"})
CALL_WIDE_ERROR_CODES = THROTTLING_ERROR_CODES | frozenset(
    {"AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "ExpiredToken", "InvalidClientTokenId"}
)
"""Errors that would fail any call alike: a failed batch is not split to look for a bad query."""
"""Error codes that are retried (on top of whatever retries the boto3 client itself is configured to make)."""

MAX_THROTTLING_RETRIES = 3
"""How many times one throttled call is retried before its queries are reported as failed."""

BACKOFF_BASE_SECONDS = 0.2
"""Retry ``n`` (0-based) sleeps a random time between half and all of ``BACKOFF_BASE_SECONDS * 2**n``."""

ERROR_STATUS_CODES = frozenset({"InternalError", "Forbidden"})
"""Per-query ``StatusCode`` values that mean the query's values can't be trusted."""

SIMPLE_STATISTICS = ("Average", "Maximum", "Minimum", "Sum", "SampleCount")

_PERCENTILE = re.compile(r"p(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class FetchedValue:
    """The outcome of one query: ``value`` is ``None`` when there were no datapoints (``error`` is ``None`` too) or
    when the fetch failed (``error`` says why, e.g. ``"AccessDenied: User ... is not authorized"``).

    ``latest`` and ``timestamp`` are the newest datapoint's value and timestamp (epoch seconds; on AWS the start of
    the period it describes), ``None`` without datapoints: target tracking reacts to each datapoint once and calls
    an old one stale. They are left out of equality: two fetches of the same value are the same reading.
    """

    value: float | None
    error: str | None = None
    latest: float | None = field(default=None, compare=False)
    timestamp: float | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        """True when the fetch worked (``value`` may still be ``None``: no datapoints)."""
        return self.error is None


def is_percentile(stat: str) -> bool:
    """True for CloudWatch percentile statistics: ``p0`` .. ``p100``, decimals allowed (``p99.9``)."""
    match = _PERCENTILE.fullmatch(stat)
    return match is not None and 0.0 <= float(match.group(1)) <= 100.0


def is_supported_statistic(stat: str) -> bool:
    """True for the statistics ``reduce_values`` knows how to reduce (case-sensitive, as CloudWatch)."""
    return stat in SIMPLE_STATISTICS or is_percentile(stat)


def reduce_values(stat: str, values: Sequence[float]) -> float | None:
    """Reduce the per-period values of one query to the single number the feelings are compared with.

    - ``Average``: arithmetic mean of the per-period averages (unweighted, exactly as sosw);
    - ``Maximum`` / ``Minimum``: max / min;
    - ``Sum`` and ``SampleCount``: sum over the window;
    - percentiles (``p90``, ``p99.9``...): the **max** of the per-period percentiles. Percentiles of different
      periods can't be combined exactly without the raw samples; the max is the conservative choice for the usual
      lower-is-better metrics (latency), and it is optimistic for a higher-is-better one. To avoid any reduction,
      make ``period`` equal to the window.

    No values gives ``None``. An unsupported statistic raises ``ValueError``.
    """
    if not is_supported_statistic(stat):
        raise ValueError(f"unsupported statistic {stat!r}: use one of {', '.join(SIMPLE_STATISTICS)} or a percentile")
    if not values:
        return None
    numbers = [float(v) for v in values]
    if stat == "Average":
        return math.fsum(numbers) / len(numbers)
    if stat == "Minimum":
        return min(numbers)
    if stat in ("Sum", "SampleCount"):
        return math.fsum(numbers)
    return max(numbers)  # Maximum and percentiles


def metric_data_query(query: MetricQuery, query_id: str) -> dict[str, Any]:
    """The ``MetricDataQueries`` entry for ``query`` (``query_id`` must start with a lower-case letter)."""
    metric_stat: dict[str, Any] = {
        "Metric": {
            "Namespace": query.namespace,
            "MetricName": query.metric_name,
            "Dimensions": [{"Name": name, "Value": value} for name, value in query.dimensions],
        },
        "Period": query.period,
        "Stat": query.stat,
    }
    if query.unit is not None:
        metric_stat["Unit"] = query.unit
    return {"Id": query_id, "MetricStat": metric_stat, "ReturnData": True}


def fetch_metric_values(
    client: Any,
    queries: Iterable[MetricQuery],
    *,
    now: datetime,
    sleep: Callable[[float], None] = time.sleep,
    max_queries_per_call: int = MAX_QUERIES_PER_CALL,
) -> dict[MetricQuery, FetchedValue]:
    """Fetch one value per distinct query with ``GetMetricData``; never raises for AWS or client errors.

    ``client`` is a boto3 CloudWatch client (anything with ``get_metric_data(**kwargs)``). Each query reads
    ``[now - query.window, now]``; a naive ``now`` is taken as UTC. The result has one entry per distinct query.
    Throttled calls are retried up to ``MAX_THROTTLING_RETRIES`` times, sleeping with ``sleep`` (injectable for
    tests) for a short jittered backoff. Queries with a statistic ``reduce_values`` doesn't support are not sent and
    get an error.
    """
    if not 1 <= max_queries_per_call <= MAX_QUERIES_PER_CALL:
        raise ValueError(f"max_queries_per_call must be within 1..{MAX_QUERIES_PER_CALL}, got {max_queries_per_call}")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)

    results: dict[MetricQuery, FetchedValue] = {}
    by_window: dict[int, list[MetricQuery]] = {}
    for query in dict.fromkeys(queries):  # dedupe, keep first-seen order
        if not is_supported_statistic(query.stat):
            results[query] = FetchedValue(None, f"UnsupportedStatistic: {query.stat!r} can't be reduced to one value")
        else:
            by_window.setdefault(query.window, []).append(query)

    for window, window_queries in by_window.items():
        start = now - timedelta(seconds=window)
        for offset in range(0, len(window_queries), max_queries_per_call):
            batch = window_queries[offset : offset + max_queries_per_call]
            results.update(_fetch_batch(client, batch, start=start, end=now, sleep=sleep))
    return results


def _fetch_batch(
    client: Any,
    batch: Sequence[MetricQuery],
    *,
    start: datetime,
    end: datetime,
    sleep: Callable[[float], None],
) -> dict[MetricQuery, FetchedValue]:
    """One logical GetMetricData call (all its NextToken pages) for queries sharing one window."""
    ids = {f"m{index}": query for index, query in enumerate(batch)}
    request: dict[str, Any] = {
        "MetricDataQueries": [metric_data_query(query, query_id) for query_id, query in ids.items()],
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampDescending",
    }
    values: dict[str, list[float]] = {query_id: [] for query_id in ids}
    newest: dict[str, tuple[float, float]] = {}  # query id -> (timestamp, value) of its newest datapoint
    errors: dict[str, list[str]] = {}
    answered: set[str] = set()
    call_messages: list[str] = []
    next_token: str | None = None
    while True:
        page_request = dict(request, NextToken=next_token) if next_token else request
        try:
            page = _call_with_retries(client, page_request, sleep)
        except Exception as exc:  # a failed call must not stop the run: report it on every query of the call
            if len(batch) > 1 and _may_be_one_querys_fault(exc):
                return _bisect(client, batch, start=start, end=end, sleep=sleep)
            reason = _describe_exception(exc)
            return {query: FetchedValue(None, reason) for query in batch}
        for result in page.get("MetricDataResults", []):
            query_id = result.get("Id")
            if query_id not in values:
                continue
            answered.add(query_id)
            values[query_id].extend(float(v) for v in result.get("Values", []))
            for stamp, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                seconds = stamp.timestamp() if isinstance(stamp, datetime) else float(stamp)
                if query_id not in newest or seconds > newest[query_id][0]:
                    newest[query_id] = (seconds, float(value))
            problems = [_describe_message(m) for m in result.get("Messages", [])]
            status_code = result.get("StatusCode")
            if status_code in ERROR_STATUS_CODES:
                problems.insert(0, f"StatusCode {status_code}")
            if problems:
                errors.setdefault(query_id, []).extend(problems)
        call_messages.extend(_describe_message(m) for m in page.get("Messages", []))
        next_token = page.get("NextToken")
        if not next_token:
            break

    fetched: dict[MetricQuery, FetchedValue] = {}
    for query_id, query in ids.items():
        if query_id in errors:
            fetched[query] = FetchedValue(None, "; ".join(errors[query_id]))
        elif query_id not in answered:
            detail = f" ({'; '.join(call_messages)})" if call_messages else ""
            fetched[query] = FetchedValue(None, f"NoResult: CloudWatch returned no result for this query{detail}")
        else:
            stamp, latest = newest.get(query_id, (None, None))
            fetched[query] = FetchedValue(reduce_values(query.stat, values[query_id]), None, latest, stamp)
    return fetched


def _bisect(
    client: Any,
    batch: Sequence[MetricQuery],
    *,
    start: datetime,
    end: datetime,
    sleep: Callable[[float], None],
) -> dict[MetricQuery, FetchedValue]:
    """Fetch the two halves of a failed batch separately, so one malformed query fails alone, not its neighbours."""
    middle = len(batch) // 2
    fetched = _fetch_batch(client, batch[:middle], start=start, end=end, sleep=sleep)
    fetched.update(_fetch_batch(client, batch[middle:], start=start, end=end, sleep=sleep))
    return fetched


def _may_be_one_querys_fault(exc: Exception) -> bool:
    """Whether a whole-call failure could come from one bad query (a validation error, an unexpected failure),
    rather than from something that fails every call alike (throttling, access, the network)."""
    if isinstance(exc, (BotoCoreError, ConnectionError, TimeoutError)):
        return False
    return not (isinstance(exc, ClientError) and error_code(exc) in CALL_WIDE_ERROR_CODES)


def _call_with_retries(client: Any, request: dict[str, Any], sleep: Callable[[float], None]) -> dict[str, Any]:
    """``client.get_metric_data(**request)``, retrying throttling errors with jittered exponential backoff."""
    attempt = 0
    while True:
        try:
            response: dict[str, Any] = client.get_metric_data(**request)
        except ClientError as exc:
            if error_code(exc) not in THROTTLING_ERROR_CODES or attempt >= MAX_THROTTLING_RETRIES:
                raise
            ceiling = BACKOFF_BASE_SECONDS * 2**attempt
            sleep(random.uniform(ceiling / 2, ceiling))
            attempt += 1
        else:
            return response


def _describe_exception(exc: Exception) -> str:
    """``"<error code>: <message>"`` for AWS errors, ``"<exception class>: <text>"`` for anything else."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or "ClientError"
        message = error.get("Message") or str(exc)
        return f"{code}: {message}"
    return f"{type(exc).__name__}: {exc}"


def _describe_message(message: dict[str, Any]) -> str:
    code = message.get("Code")
    value = message.get("Value", "")
    return f"{code}: {value}" if code else str(value)
