"""An item at DynamoDB's 400 KB limit stops nothing: setting it aside never writes an item DynamoDB refuses.

Before this, the set-aside added ``closed_at``, ``labourer_id_task_status`` and ``close_reason`` to an item already
at the limit, the TransactWriteItems failed with ``ValidationException``, FetchGreenfieldTasks failed, and so did every
run, for every labourer, until someone deleted the item by hand (issue #22, item 9). The embedded stack counts items
as DynamoDB does and takes exactly 400 KB (``foreman.local.patches.item_size_limit``).
"""

from __future__ import annotations

import json

from foreman.local.stack import EmbeddedStack
from foreman_core.config import Tables
from foreman_core.item_size import ITEM_BYTES, item_bytes
from foreman_core.task_store import TaskStore
from tests.malformed import valid_item
from tests.statemachine.conftest import FakeLabourer, labourer_config, report_for

CLOSED_FIELDS = {"closed_at", "labourer_id_task_status", "close_reason"}


def _at_the_limit(task_id: str, labourer_id: str, *, now: float) -> dict[str, dict[str, str]]:
    """A queued task whose payload (valid JSON) makes the item exactly 400 KB as DynamoDB counts it."""
    item = valid_item(task_id, labourer_id, 100, now=now)
    item["payload"] = {"S": json.dumps({"blob": ""})}
    item["payload"]["S"] = json.dumps({"blob": "x" * (ITEM_BYTES - item_bytes(item))})
    assert item_bytes(item) == ITEM_BYTES
    return item


def test_a_task_at_dynamodbs_item_limit_is_set_aside_whole_and_the_run_goes_on(
    stack: EmbeddedStack, store: TaskStore
) -> None:
    # Given a task exactly at DynamoDB's 400 KB at the head of a labourer's queue, three valid tasks behind it, and
    # another labourer with two tasks
    fakes = {name: FakeLabourer() for name in ("worker-a", "worker-b")}
    stack.put_config(
        {
            "task_config": {
                "labourers": {name: labourer_config(stack.add_function(name, fake), 10) for name, fake in fakes.items()}
            }
        }
    )
    dynamodb = stack.client("dynamodb")
    big = _at_the_limit("big", "worker-a", now=1_700_000_000)
    dynamodb.put_item(TableName=Tables().tasks, Item=big)
    valid = store.create_tasks("worker-a", [{"n": n} for n in range(3)])
    other = store.create_tasks("worker-b", [{"n": n} for n in range(2)])

    execution = stack.run()

    # Then the run succeeds and every valid task of both labourers is invoked
    assert sorted(fakes["worker-a"].task_ids) == sorted(task.task_id for task in valid)
    assert sorted(fakes["worker-b"].task_ids) == sorted(task.task_id for task in other)
    line = report_for(execution.output, "worker-a")
    (aside,) = line["set_aside"]
    assert aside["task_id"] == "big"
    # and the big task is set aside: its closed row within the limit, naming what was cut and where it is
    row = dynamodb.get_item(TableName=Tables().closed, Key={"task_id": {"S": "big"}}, ConsistentRead=True)["Item"]
    assert item_bytes(row) <= ITEM_BYTES
    assert row["labourer_id_task_status"] == {"S": "worker-a_0"}
    assert row["foreman_cut"] == {"S": "payload"}
    assert "payload" not in row
    assert "cut to fit DynamoDB's item limit" in row["close_reason"]["S"]
    # and nothing is lost: the whole task reads back exactly as it was written
    whole = store.closed_item("big")
    assert whole is not None
    assert {name: value for name, value in whole.items() if name not in CLOSED_FIELDS} == big
    located = store.locate("big")  # what foreman tasks show reads
    assert located.where.value == "closed-dead"
    assert located.task is not None
    assert located.task.payload_text == big["payload"]["S"]
    assert dynamodb.get_item(TableName=Tables().tasks, Key={"task_id": {"S": "big"}}).get("Item") is None
