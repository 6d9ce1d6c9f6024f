"""Tables Foreman did not create (``CreateTables=false``: an existing sosw deployment's) checked before any task is
touched: each table's key schema, and each index Foreman reads tasks from, with every attribute projected.

Foreman reads whole tasks from the greenfield index and the retry index: on an index that projects only its keys
(``KEYS_ONLY``) or some attributes (``INCLUDE``) a task read from it has no payload, and setting it aside, retrying or
requeueing it would write it back without one. So such a table is refused by name, at LoadConfig, before anything is
read from it. One ``DescribeTable`` per table, once per warm LoadConfig (``check_tables_once``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from foreman_core.config import Tables


class TableSchemaError(RuntimeError):
    """The deployment's tables are not what Foreman needs; ``problems`` names each table or index and what is wrong."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "the existing tables cannot be used (CreateTables=false): "
            + "; ".join(self.problems)
            + ". Foreman reads whole tasks from these indexes: recreate the index with ProjectionType ALL, or "
            "deploy with CreateTables=true and other table names."
        )


def expected_schemas(tables: Tables) -> dict[str, tuple[list[tuple[str, str]], dict[str, list[tuple[str, str]]]]]:
    """Per table: its key schema ``[(attribute, HASH|RANGE)]`` and the indexes Foreman reads tasks from, each with its
    key schema (those must project ALL)."""
    return {
        tables.tasks: (
            [("task_id", "HASH")],
            {tables.greenfield_index: [("labourer_id", "HASH"), ("greenfield", "RANGE")]},
        ),
        tables.closed: ([("task_id", "HASH")], {}),
        tables.retry: (
            [("labourer_id", "HASH"), ("task_id", "RANGE")],
            {tables.retry_index: [("labourer_id", "HASH"), ("desired_launch_time", "RANGE")]},
        ),
    }


def _keys(schema: Sequence[Mapping[str, str]]) -> list[tuple[str, str]]:
    return [(key["AttributeName"], key["KeyType"]) for key in schema]


def _shown(keys: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{name} ({kind})" for name, kind in keys) or "none"


def table_problems(client: Any, tables: Tables) -> list[str]:
    """What is wrong with the deployment's tables: each problem names the table or index (empty: all as needed)."""
    problems: list[str] = []
    for table, (keys, indexes) in expected_schemas(tables).items():
        try:
            description = client.describe_table(TableName=table)["Table"]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            problems.append(f"table {table!r}: " + ("not found" if code == "ResourceNotFoundException" else str(error)))
            continue
        except BotoCoreError as error:
            problems.append(f"table {table!r}: cannot describe it: {error}")
            continue
        found = _keys(description.get("KeySchema", []))
        if found != keys:
            problems.append(f"table {table!r}: key schema is {_shown(found)}, expected {_shown(keys)}")
        declared = {
            index["IndexName"]: index
            for index in description.get("GlobalSecondaryIndexes", []) + description.get("LocalSecondaryIndexes", [])
        }
        for name, index_keys in indexes.items():
            index = declared.get(name)
            if index is None:
                problems.append(f"table {table!r}: no index {name!r}")
                continue
            found = _keys(index.get("KeySchema", []))
            if found != index_keys:
                problems.append(
                    f"index {name!r} of {table!r}: key schema is {_shown(found)}, expected {_shown(index_keys)}"
                )
            projection = index.get("Projection", {}).get("ProjectionType")
            if projection != "ALL":
                problems.append(
                    f"index {name!r} of {table!r}: projection is {projection}, expected ALL (a task read from it would "
                    "have no payload, and would be written back without it)"
                )
    return problems


_checked: set[Tables] = set()


def check_tables_once(client: Any, tables: Tables) -> None:
    """Raise ``TableSchemaError`` if ``table_problems`` finds any; a deployment found right is not described again
    while this process (a warm Lambda) lives."""
    if tables in _checked:
        return
    problems = table_problems(client, tables)
    if problems:
        raise TableSchemaError(problems)
    _checked.add(tables)
