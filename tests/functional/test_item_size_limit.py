"""Canary and check for ``foreman.local.patches.item_size_limit``: moto refuses items DynamoDB stores (above 405,000
bytes of its own count) and stores list-heavy items DynamoDB refuses; the embedded stack takes exactly DynamoDB's
400 KB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from foreman.local.patches import resolve_internal
from foreman.local.patches.item_size_limit import PATCHED, item_size_limit
from foreman_core.item_size import ITEM_BYTES, item_bytes


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _string_item(size: int) -> dict[str, Any]:
    item = {"id": {"S": "k"}, "p": {"S": ""}}
    item["p"]["S"] = "x" * (size - item_bytes(item))
    assert item_bytes(item) == size
    return item


def _list_item(size: int) -> dict[str, Any]:
    """An item with a list of 10,000 one-character strings (2 bytes each as DynamoDB counts, 1 as moto does),
    padded to ``size``."""
    elements = 10_000
    item = {"id": {"S": "k"}, "l": {"L": [{"S": "x"}] * elements}}
    item["pad"] = {"S": "y" * (size - item_bytes(item) - len("pad"))}
    assert item_bytes(item) == size
    return item


@pytest.mark.parametrize(("module", "attribute"), PATCHED)
def test_each_patched_internal_still_exists(module: str, attribute: str) -> None:
    assert resolve_internal(module, attribute) is not None


def test_moto_refuses_an_item_dynamodb_stores_and_stores_one_dynamodb_refuses(table: Any) -> None:
    with pytest.raises(ClientError):
        table.put_item(TableName="t", Item=_string_item(ITEM_BYTES))  # stock moto: 405,000 at most
    table.put_item(TableName="t", Item=_list_item(ITEM_BYTES + 5_000))  # stock moto: lists counted short


def test_the_embedded_stack_stores_exactly_400_kb_as_dynamodb_counts_it(table: Any) -> None:
    with item_size_limit():
        table.put_item(TableName="t", Item=_string_item(ITEM_BYTES))
        table.put_item(TableName="t", Item=_list_item(ITEM_BYTES))
        for item in (_string_item(ITEM_BYTES + 1), _list_item(ITEM_BYTES + 1)):
            with pytest.raises(ClientError) as refused:
                table.put_item(TableName="t", Item=item)
            assert refused.value.response["Error"]["Code"] == "ValidationException"
            assert "Item size has exceeded the maximum allowed size" in refused.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as grown:  # an update that would take the item past the limit
            table.update_item(
                TableName="t",
                Key={"id": {"S": "k"}},
                UpdateExpression="SET more = :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        assert grown.value.response["Error"]["Code"] == "ValidationException"
        assert table.get_item(TableName="t", Key={"id": {"S": "k"}})["Item"] == _list_item(ITEM_BYTES)


def test_an_update_refused_for_its_size_changes_nothing_as_on_dynamodb(table: Any) -> None:
    # moto applies SET a, SET b one by one: the first is kept when the second passes the limit
    item = _string_item(ITEM_BYTES - 100)
    update = {
        "TableName": "t",
        "Key": {"id": {"S": "k"}},
        "UpdateExpression": "SET a = :small, b = :large",
        "ExpressionAttributeValues": {":small": {"S": "s"}, ":large": {"S": "l" * 200}},
    }
    with item_size_limit():
        table.put_item(TableName="t", Item=item)
        with pytest.raises(ClientError):
            table.update_item(**update)
        assert table.get_item(TableName="t", Key={"id": {"S": "k"}})["Item"] == item
