"""The read capacity a run reports, on the embedded stack (whose DynamoDB charges reads as DynamoDB does,
``foreman.local.patches.consumed_read_capacity``):
a run over large tasks reports what DynamoDB would charge for them."""

from __future__ import annotations

import json
import time
from typing import Any

from foreman.local.stack import EmbeddedStack
from foreman_core.config import Tables
from tests.statemachine.conftest import FakeLabourer, labourer_config

ITEM_BYTES = 25 * 4096
"""Each task's item: exactly 25 blocks of 4 KB (100 KB)."""


def dynamodb_bytes(item: dict[str, dict[str, str]]) -> int:
    """An item of string and number attributes as DynamoDB sizes it: every name's and string's UTF-8 bytes, a
    number's digits plus one (DynamoDB's rule, about a byte per two digits plus one, counts a few bytes less: any item
    above 24 blocks still rounds up to 25, as does any sum of fewer than 400 of them)."""
    total = 0
    for name, value in item.items():
        ((kind, text),) = value.items()
        total += len(name.encode()) + len(text.encode()) + (1 if kind == "N" else 0)
    return total


def large_task(number: int, now: int) -> dict[str, dict[str, str]]:
    """A queued task of worker-a whose item is exactly ``ITEM_BYTES``, its payload padded to fit."""
    item = {
        "task_id": {"S": f"large-{number:04d}"},
        "labourer_id": {"S": "worker-a"},
        "greenfield": {"N": str(2000 + 1000 * number)},
        "created_at": {"N": str(now)},
        "attempts": {"N": "0"},
        "payload": {"S": json.dumps({"pad": ""})},
    }
    padding = ITEM_BYTES - dynamodb_bytes(item)
    item["payload"] = {"S": json.dumps({"pad": "x" * padding})}
    assert dynamodb_bytes(item) == ITEM_BYTES
    return item


def test_a_run_over_large_tasks_reports_the_read_units_dynamodb_charges(stack: EmbeddedStack) -> None:
    # Given 30 queued tasks of 100 KB each for a labourer that may start 40
    fake = FakeLabourer()
    stack.put_config(
        {"task_config": {"labourers": {"worker-a": labourer_config(stack.add_function("worker-a", fake), 40)}}}
    )
    client: Any = stack.client("dynamodb")
    now = int(time.time()) - 60
    for number in range(30):
        client.put_item(TableName=Tables().tasks, Item=large_task(number, now))

    # When the Orchestrator runs
    output = stack.run().output

    # Then every task is invoked, and the run reports what DynamoDB charges for its reads, on the greenfield index
    # (eventually consistent: half a unit per 4 KB of items read, each request's sum rounded up to 4 KB)
    assert output["totals"]["invoked"] == 30
    half_units_per_item = ITEM_BYTES / 4096 / 2
    # ComputeEcology's count of running tasks reads nothing: one 4 KB block, at half price; whether tasks wait: the
    # queue's head, read whole (a projection does not lower what DynamoDB charges)
    running = 0.5 + half_units_per_item
    fetch = 30 * half_units_per_item  # every queued task, read whole to be checked
    # the queue's two ends, read first for its depth: one whole item each, though only their positions are kept
    ends = 2 * half_units_per_item
    assert output["read_units"] == {
        "ComputeEcology": running,
        "FetchGreenfieldTasks": fetch + ends,
        "total": running + fetch + ends,
    }
    assert output["read_units"]["FetchGreenfieldTasks"] == 400
