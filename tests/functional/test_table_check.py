"""``table_check``: each way an existing deployment's tables can differ from what Foreman needs, named."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from foreman_core import table_check
from foreman_core.config import Tables
from foreman_core.table_check import TableSchemaError, check_tables_once, table_problems
from tests.builders import create_sosw_tables


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # each test's tables are new: what an earlier test in this process found checked must not count
    monkeypatch.setattr(table_check, "_checked", set())
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


def test_sosws_tables_have_no_problem(client: Any) -> None:
    create_sosw_tables(client)
    assert table_problems(client, Tables()) == []


def test_missing_tables_and_indexes_and_wrong_keys_are_each_named(client: Any) -> None:
    create_sosw_tables(client)
    client.delete_table(TableName="sosw_closed_tasks")
    client.delete_table(TableName="sosw_retry_tasks")
    client.create_table(
        TableName="sosw_retry_tasks",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "task_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
    )
    problems = table_problems(client, Tables())
    assert problems == [
        "table 'sosw_closed_tasks': not found",
        "table 'sosw_retry_tasks': key schema is task_id (HASH), expected labourer_id (HASH), task_id (RANGE)",
        "table 'sosw_retry_tasks': no index 'labourer_id_greenfield'",
    ]
    with pytest.raises(TableSchemaError) as refused:
        check_tables_once(client, Tables())
    assert "sosw_closed_tasks" in str(refused.value)
    assert "CreateTables=false" in str(refused.value)
