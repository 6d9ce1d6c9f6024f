"""What DynamoDB charges for a read, from the sizes of the items it read.

``Table.query``, ``Table.scan``, ``Table.get_item`` and ``DynamoHandler.query`` / ``scan`` / ``get_item`` /
``batch_get_item``: moto answers ``ReturnConsumedCapacity`` with a constant (1.0 per Query or Scan, whatever it
read); DynamoDB charges for the sizes of the items it read, before any filter or projection, rounded up to 4 KB,
half for an eventually consistent read. ``consumed_read_capacity`` answers what DynamoDB charges, so a run's
reported read units (``TaskStore.read_units``) mean on the embedded stack what they mean on AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

READ_UNIT_BYTES = 4096
"""One read unit reads up to 4 KB strongly consistent (half a unit eventually consistent)."""


def read_units(total_bytes: int, *, consistent: bool) -> float:
    """What one read request (or one item of a BatchGetItem) of ``total_bytes`` costs: rounded up to 4 KB, at least
    one 4 KB block (a read that finds nothing still costs it), halved for an eventually consistent read."""
    blocks = max(1, -(-total_bytes // READ_UNIT_BYTES))
    return float(blocks) if consistent else blocks / 2


def stored_item_bytes(item: Any) -> int:
    """The size of one of moto's stored items as DynamoDB counts it (``foreman_core.item_size.item_bytes``)."""
    from foreman_core.item_size import item_bytes

    return item_bytes({name: value.to_regular_json() for name, value in item.attrs.items()})


def _consumed(
    table: str, units: float, *, mode: str, index: str | None = None, index_kind: str = "GlobalSecondaryIndexes"
) -> dict[str, Any]:
    """A ``ConsumedCapacity`` as DynamoDB answers it for ``ReturnConsumedCapacity`` ``TOTAL`` or ``INDEXES``."""
    consumed: dict[str, Any] = {"TableName": table, "CapacityUnits": units, "ReadCapacityUnits": units}
    if mode == "INDEXES":
        part = {"CapacityUnits": units, "ReadCapacityUnits": units}
        if index is None:
            consumed["Table"] = part
        else:
            consumed["Table"] = {"CapacityUnits": 0.0, "ReadCapacityUnits": 0.0}
            consumed[index_kind] = {index: part}
    return consumed


@contextmanager
def consumed_read_capacity() -> Iterator[None]:
    """Answer ``ReturnConsumedCapacity`` on reads with the units DynamoDB charges, as AWS does.

    moto answers a constant (1.0 for Query and Scan, 0.5 for GetItem, the number of keys for BatchGetItem), whatever
    was read. DynamoDB charges for the items it read: a Query or Scan sums the sizes of every item its key condition
    (and ``Limit``) made it read, before ``FilterExpression``, whatever ``ProjectionExpression`` or ``Select: COUNT``
    returns, and rounds the sum up to 4 KB; GetItem and each item of a BatchGetItem are rounded up one by one. A read
    that finds nothing costs one 4 KB block. Eventually consistent reads (the default, and every read of a global
    secondary index) cost half. On an index the item read is its index entry (moto's ``project`` of the index).
    Writes keep moto's answer.
    """
    import functools
    import inspect
    import threading

    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    meter = threading.local()  # (table, bytes) of every item read by the request being answered on this thread

    def record(table: str, item: Any) -> None:
        sizes = getattr(meter, "sizes", None)
        if sizes is not None:
            sizes.append((table, stored_item_bytes(item) if item is not None else 0))

    original_query, original_scan, original_get = Table.query, Table.scan, Table.get_item
    query_signature, scan_signature = inspect.signature(original_query), inspect.signature(original_scan)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = query_signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        extra = arguments.pop("filter_kwargs", {})
        filter_expression, projection = arguments["filter_expression"], arguments["projection_expressions"]
        arguments.update(filter_expression=None, projection_expressions=None)
        read, scanned, last_key = original_query(**arguments, **extra)
        for item in read:
            record(self.name, item)
        return _filtered(read, filter_expression, projection), scanned, last_key

    def scan(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = scan_signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        filter_expression, projection = arguments["filter_expression"], arguments["projection_expression"]
        arguments.update(filter_expression=None, projection_expression=None)
        read, scanned, last_key = original_scan(**arguments)
        for item in read:
            record(self.name, item)
        return _filtered(read, filter_expression, projection), scanned, last_key

    def get_item(self: Any, hash_key: Any, range_key: Any = None, projection_expression: Any = None) -> Any:
        item = original_get(self, hash_key, range_key)
        record(self.name, item)
        return item.project(projection_expression) if projection_expression and item else item

    def metered(name: str) -> Any:
        original = getattr(DynamoHandler, name)

        @functools.wraps(original)
        def handle(self: Any) -> Any:
            meter.sizes = []
            try:
                result = original(self)
                sizes: list[tuple[str, int]] = meter.sizes
            finally:
                meter.sizes = None
            mode = self.body.get("ReturnConsumedCapacity", "NONE")
            body: dict[str, Any] = result.result
            if name == "batch_get_item":
                body.pop("ConsumedCapacity", None)
                if mode != "NONE":
                    body["ConsumedCapacity"] = _batch_consumed(self.body["RequestItems"], sizes, mode)
            elif mode != "NONE":
                body["ConsumedCapacity"] = _request_consumed(self, name, sizes, mode)
            return result

        return handle

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(Table, "query", query))
        stack.enter_context(mock.patch.object(Table, "scan", scan))
        stack.enter_context(mock.patch.object(Table, "get_item", get_item))
        for name in ("query", "scan", "get_item", "batch_get_item"):
            stack.enter_context(mock.patch.object(DynamoHandler, name, metered(name)))
        yield


def _filtered(read: list[Any], filter_expression: Any, projection: Any) -> list[Any]:
    """What moto's Query and Scan return of the items they read: those that pass the filter, projected."""
    if filter_expression is not None:
        read = [item for item in read if filter_expression.expr(item)]
    if projection:
        read = [item.project(projection) for item in read]
    return read


def _request_consumed(handler: Any, name: str, sizes: list[tuple[str, int]], mode: str) -> dict[str, Any]:
    """The ``ConsumedCapacity`` of one Query, Scan or GetItem."""
    table_name = str(handler.body["TableName"])
    index = handler.body.get("IndexName")
    consistent = bool(handler.body.get("ConsistentRead", False))
    index_kind = "GlobalSecondaryIndexes"
    if index is not None:
        table = handler.dynamodb_backend.get_table(table_name)
        if any(local.name == index for local in table.indexes or []):
            index_kind = "LocalSecondaryIndexes"
        else:
            consistent = False  # a global secondary index is read eventually consistent, always
    if name == "get_item":
        units = read_units(sizes[0][1] if sizes else 0, consistent=consistent)
    else:
        units = read_units(sum(size for _, size in sizes), consistent=consistent)
    return _consumed(table_name, units, mode=mode, index=index, index_kind=index_kind)


def _batch_consumed(request_items: dict[str, Any], sizes: list[tuple[str, int]], mode: str) -> list[dict[str, Any]]:
    """The ``ConsumedCapacity`` of a BatchGetItem: per table, each item rounded up on its own."""
    consumed = []
    for table_name, request in request_items.items():
        consistent = bool(request.get("ConsistentRead", False))
        units = sum(read_units(size, consistent=consistent) for table, size in sizes if table == table_name)
        consumed.append(_consumed(table_name, units, mode=mode))
    return consumed


INTERNALS: tuple[tuple[str, str], ...] = (
    *(("moto.dynamodb.models.table", f"Table.{name}") for name in ("query", "scan", "get_item")),
    *(("moto.dynamodb.responses", f"DynamoHandler.{name}") for name in ("query", "scan", "get_item", "batch_get_item")),
    ("moto.dynamodb.models.dynamo_type", "DynamoType.to_regular_json"),
)
"""The moto internals this patch reads or replaces (their canary: tests/functional/test_moto_internals.py)."""
