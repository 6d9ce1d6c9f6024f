"""CreateTables=false: the existing tables' key schemas and index projections are checked before any task is touched
(issue 23): an index that does not project every attribute would hand Foreman tasks without their payload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from foreman.local.stack import EmbeddedStack, ExecutionFailedError
from foreman_core.config import Tables
from foreman_core.task_store import TaskStore
from tests.builders import create_sosw_tables
from tests.statemachine.conftest import FakeLabourer, labourer_config, report_for


@pytest.fixture
def existing() -> Iterator[EmbeddedStack]:
    with EmbeddedStack(parameters={"CreateTables": "false", "LogLevel": "ERROR"}) as stack:
        yield stack


def _keys_only(client: Any) -> None:
    """sosw's tables, but the greenfield index projects only its keys."""
    create_sosw_tables(client)
    tables = Tables()
    client.delete_table(TableName=tables.tasks)
    client.create_table(
        TableName=tables.tasks,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": kind}
                              for name, kind in (("task_id", "S"), ("labourer_id", "S"), ("greenfield", "N"))],
        KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": tables.greenfield_index, "Projection": {"ProjectionType": "KEYS_ONLY"},
                                 "KeySchema": [{"AttributeName": "labourer_id", "KeyType": "HASH"},
                                               {"AttributeName": "greenfield", "KeyType": "RANGE"}]}],
    )  # fmt: skip


def test_a_keys_only_greenfield_index_is_refused_by_name_before_any_task_is_touched(existing: EmbeddedStack) -> None:
    # Given an existing deployment's tables whose greenfield index projects its keys only, and a queued task
    client = existing.client("dynamodb")
    _keys_only(client)
    fake = FakeLabourer()
    existing.put_config({"task_config": {"labourers": {"worker-a": labourer_config(
        existing.add_function("worker-a", fake), 2)}}})  # fmt: skip
    (task,) = TaskStore(client, Tables()).create_tasks("worker-a", [{"n": 1}])

    # When the Orchestrator and the Scavenger run
    for state_machine in ("OrchestratorArn", "ScavengerArn"):
        with pytest.raises(ExecutionFailedError) as failure:
            existing.run(state_machine=state_machine)
        cause = str(failure.value)
        # Then each fails at LoadConfig, naming the index and its projection
        assert "index 'sosw_tasks_greenfield' of 'sosw_tasks': projection is KEYS_ONLY, expected ALL" in cause

    # and nothing was touched: the task is queued as created, nothing invoked, nothing closed
    item = client.get_item(TableName=Tables().tasks, Key={"task_id": {"S": task.task_id}})["Item"]
    assert (item["greenfield"], item["attempts"]) == ({"N": str(task.greenfield)}, {"N": "0"})
    assert fake.events == []
    assert client.scan(TableName=Tables().closed)["Count"] == 0


def test_sosws_own_tables_pass_the_check(existing: EmbeddedStack) -> None:
    client = existing.client("dynamodb")
    create_sosw_tables(client)
    existing.put_config({"task_config": {"labourers": {"worker-a": labourer_config(
        existing.add_function("worker-a", FakeLabourer()), 2)}}})  # fmt: skip
    TaskStore(client, Tables()).create_tasks("worker-a", [{"n": 1}])
    assert report_for(existing.run().output, "worker-a")["invoked"] == 1
    json.dumps(existing.run(state_machine="ScavengerArn").output)
