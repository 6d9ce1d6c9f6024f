"""DynamoDB's 4 MB limit on one TransactWriteItems.

``DynamoDBBackend.transact_write_items`` (again, for size): moto accepts a transaction of any size; DynamoDB refuses
one whose items add up to more than 4 MB with ``ValidationException``. ``transaction_size_limit`` refuses it too,
counting a Put as its item and a Delete, Update or ConditionCheck as the stored item it touches (moto's own
``Item.size()``), so a batch that would fail on AWS fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

TRANSACTION_LIMIT_BYTES = 4 * 1024 * 1024
"""DynamoDB's limit on the items of one TransactWriteItems (4 MB)."""

TRANSACTION_TOO_LARGE = "Transaction request cannot be larger than 4 MB"
"""DynamoDB's message for a transaction over the limit (a ``ValidationException``)."""


def transaction_bytes(backend: Any, transact_items: list[dict[str, Any]]) -> int:
    """The size of a transaction's items as moto measures items: a Put's item, the stored item of the others."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    total = 0
    for action in transact_items:
        ((kind, operation),) = action.items()
        if kind == "Put":
            total += sum(len(name.encode()) + DynamoType(value).size() for name, value in operation["Item"].items())
            continue
        stored = backend.get_item(operation["TableName"], operation["Key"])
        total += stored.size() if stored is not None else 0
    return total


@contextmanager
def transaction_size_limit() -> Iterator[None]:
    """Refuse a TransactWriteItems whose items add up to more than 4 MB, as DynamoDB does."""
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if transaction_bytes(self, transact_items) > TRANSACTION_LIMIT_BYTES:
            raise MockValidationException(TRANSACTION_TOO_LARGE)
        original(self, transact_items)

    with mock.patch.object(DynamoDBBackend, "transact_write_items", transact_write_items):
        yield


INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.dynamodb.models", "DynamoDBBackend.transact_write_items"),
    ("moto.dynamodb.models.dynamo_type", "DynamoType.size"),
    ("moto.dynamodb.models.dynamo_type", "Item.size"),
    ("moto.dynamodb.exceptions", "MockValidationException"),
)
"""The moto internals this patch reads or replaces (their canary: tests/functional/test_moto_internals.py)."""
