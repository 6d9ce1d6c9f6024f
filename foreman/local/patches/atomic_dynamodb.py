"""Each moto DynamoDB operation atomic, as DynamoDB's own are.

``DynamoDBBackend`` operations: moto checks a ConditionExpression and then writes, with nothing in between to stop
another thread; DynamoDB applies a conditional write atomically. ``atomic_dynamodb`` serializes them, so two
executions racing for one claim behave as on AWS (exactly one wins).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

DYNAMODB_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "get_item",
    "batch_get_item",
    "query",
    "scan",
)
"""moto's DynamoDB backend methods that ``atomic_dynamodb`` serializes."""


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    """Make each moto DynamoDB operation atomic with respect to the others, as DynamoDB's own are."""
    import functools
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()

    def serialized(method: Any) -> Any:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        return call

    with ExitStack() as stack:
        for name in DYNAMODB_OPERATIONS:
            stack.enter_context(mock.patch.object(DynamoDBBackend, name, serialized(getattr(DynamoDBBackend, name))))
        yield


INTERNALS: tuple[tuple[str, str], ...] = tuple(
    ("moto.dynamodb.models", f"DynamoDBBackend.{name}") for name in DYNAMODB_OPERATIONS
)
"""The moto internals this patch reads or replaces (their canary: tests/functional/test_moto_internals.py)."""
