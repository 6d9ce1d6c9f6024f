"""Test-data builders shared by the test tiers: sosw's tables, a controllable clock, payloads, a read meter."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from foreman_core.config import Tables
from foreman_core.greenfield import RunMarkers
from foreman_core.lease import LEASE_KEY

T0 = 1_700_000_000.0
"""A fixed "now" for tests that own the clock (2023-11-14)."""


def create_sosw_tables(client: Any, tables: Tables = Tables()) -> None:  # noqa: B008 (Tables is frozen)
    """Create sosw's tasks, closed and retry tables (keys and indexes exactly as sosw's templates), on demand.

    The retry table's ``desired_launch_time`` index is a local secondary index, as in sosw's real template (its own
    autotest helpers build a GSI instead).
    """
    client.create_table(
        TableName=tables.tasks,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "task_id", "AttributeType": "S"},
            {"AttributeName": "labourer_id", "AttributeType": "S"},
            {"AttributeName": "greenfield", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": tables.greenfield_index,
                "KeySchema": [
                    {"AttributeName": "labourer_id", "KeyType": "HASH"},
                    {"AttributeName": "greenfield", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client.create_table(
        TableName=tables.closed,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "task_id", "AttributeType": "S"},
            {"AttributeName": "labourer_id_task_status", "AttributeType": "S"},
            {"AttributeName": "closed_at", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": tables.closed_index,
                "KeySchema": [
                    {"AttributeName": "labourer_id_task_status", "KeyType": "HASH"},
                    {"AttributeName": "closed_at", "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": ["completed_at", "greenfield", "attempts"],
                },
            }
        ],
    )
    client.create_table(
        TableName=tables.retry,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "labourer_id", "AttributeType": "S"},
            {"AttributeName": "task_id", "AttributeType": "S"},
            {"AttributeName": "desired_launch_time", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "labourer_id", "KeyType": "HASH"},
            {"AttributeName": "task_id", "KeyType": "RANGE"},
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": tables.retry_index,
                "KeySchema": [
                    {"AttributeName": "labourer_id", "KeyType": "HASH"},
                    {"AttributeName": "desired_launch_time", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


@dataclass
class FakeClock:
    """A clock a test moves by hand: pass it as ``clock=``; ``advance`` moves it forward."""

    now: float = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def markers_at(start: float, *, duration: int = 900, cooldown: int = 300) -> RunMarkers:
    """The markers of a run starting at ``start`` with sosw's default expiry."""
    return RunMarkers.at(start, duration=duration, cooldown=cooldown)


def payload(number: int, **extra: Any) -> dict[str, Any]:
    """A small, distinguishable task payload."""
    return {"number": number, "customer": f"customer-{number:05d}", **extra}


def payloads(count: int, *, first: int = 0) -> list[dict[str, Any]]:
    """``count`` payloads numbered from ``first``."""
    return [payload(number) for number in range(first, first + count)]


@dataclass
class ReadMeter:
    """Counts what DynamoDB reports for the calls made on one client (a botocore ``after-call`` handler).

    ``calls[op]`` is the number of calls, ``scanned[op]`` / ``returned[op]`` the sum of ``ScannedCount`` / ``Count``
    (for Query and Scan), ``requests`` every call's parameters in order.
    """

    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    scanned: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    returned: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def reset(self) -> None:
        self.calls.clear()
        self.scanned.clear()
        self.returned.clear()
        self.requests.clear()

    def _after_call(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        name = model.name
        self.calls[name] += 1
        self.scanned[name] += int(parsed.get("ScannedCount", 0))
        self.returned[name] += int(parsed.get("Count", 0))

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.requests.append((model.name, dict(params)))


def attach_meter(client: Any) -> ReadMeter:
    """A ``ReadMeter`` listening to every DynamoDB call made through ``client`` from now on."""
    meter = ReadMeter()
    client.meta.events.register("after-call.dynamodb", meter._after_call)
    client.meta.events.register("before-parameter-build.dynamodb", meter._before_call)
    return meter


def all_items(client: Any, table: str) -> Iterator[dict[str, Any]]:
    """Every item of a table (a paginated Scan; for assertions only), but the Orchestrator lease's item, which lives in
    the tasks table and is not a task (``foreman_core.lease``)."""
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        yield from (item for item in page.get("Items", []) if item.get("task_id", {}).get("S") != LEASE_KEY)
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
