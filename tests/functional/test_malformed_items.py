"""Property tests: no item DynamoDB accepts can make Foreman's reads raise, and every malformed queued task is set
aside with its reason, the item kept exactly as written, while the valid tasks beside it are taken."""

from __future__ import annotations

import itertools
import time
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from foreman_core.config import Tables, parse_config
from foreman_core.greenfield import RunMarkers
from foreman_core.run import fetch_greenfield_tasks
from foreman_core.task_store import Item, Task, TaskStore, claim_result_bytes
from foreman_core.task_validation import stored_task_problem
from tests.malformed import attribute_values, malformed_items, valid_item

_labourers = itertools.count()
ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def _task_id(item: Item) -> str:
    return str(item["task_id"]["S"])


@given(st.dictionaries(st.sampled_from(["task_id", "labourer_id", "greenfield", "created_at", "attempts",
                                        "payload", "completed_at", "failed_at", "result_x"]),
                       attribute_values(), max_size=9))  # fmt: skip
def test_any_item_loads_as_a_task_and_keeps_what_it_stored(item: Item) -> None:
    task = Task.from_item(item)

    assert task.to_item() == item
    assert claim_result_bytes(task) > 0
    assert isinstance(stored_task_problem(task), str | None)
    assert set(task.malformed) <= set(item)


@given(st.lists(malformed_items("placeholder", now=1_700_000_000), min_size=1, max_size=4, unique_by=_task_id))
def test_fetch_sets_aside_every_malformed_task_and_takes_the_valid_ones(
    client: Any, store: TaskStore, items: list[Item]
) -> None:
    labourer_id = f"worker-{next(_labourers)}"
    now = time.time()
    for item in items:  # the table outlives the example: ids unique to it
        item["labourer_id"] = {"S": labourer_id}
        item["task_id"] = {"S": f"{labourer_id}-{item['task_id']['S']}"}
        client.put_item(TableName=Tables().tasks, Item=item)
    good = [valid_item(f"{labourer_id}-good-{n}", labourer_id, 5000 + n, now=now) for n in range(2)]
    for item in good:
        client.put_item(TableName=Tables().tasks, Item=item)
    config = parse_config(
        {"task_config": {"labourers": {labourer_id: {"arn": ARN, "max_simultaneous_invocations": 10}}}}
    )
    state = {
        "run": {
            "execution": "e",
            "id": "run-e",
            "start": int(now),
            "now": now,
            "claim_deadline": "2100-01-01T00:00:00Z",
        },
        "config": {"location": "memory:", "sha256": config.fingerprint()},
        "report": {labourer_id: {"status": 4, "desired": 10}},
    }

    fetched = fetch_greenfield_tasks(state, config, store=store)
    (entry,) = fetched["invocations"] or [{"tasks": []}]
    line = fetched["report"][labourer_id]

    expected_valid = {
        item["task_id"]["S"] for item in [*items, *good] if stored_task_problem(Task.from_item(item)) is None
    }
    assert {task[0] for task in entry["tasks"]} == expected_valid
    set_aside = {aside["task_id"]: aside["reason"] for aside in line.get("set_aside", [])}
    for item in items:
        task_id = item["task_id"]["S"]
        if task_id in expected_valid:
            continue
        closed = client.get_item(TableName=Tables().closed, Key={"task_id": {"S": task_id}})["Item"]
        kept = {name: value for name, value in closed.items() if name not in ("closed_at", "labourer_id_task_status",
                                                                              "close_reason")}  # fmt: skip
        assert kept == item
        assert closed["close_reason"]["S"] == "set aside by the Orchestrator: " + set_aside[task_id]
        assert client.get_item(TableName=Tables().tasks, Key={"task_id": {"S": task_id}}).get("Item") is None


@given(malformed_items("worker-claim", now=1_700_000_000))
def test_the_claim_takes_only_what_the_claim_state_can_read(client: Any, store: TaskStore, item: Item) -> None:
    item["task_id"] = {"S": f"claim-{next(_labourers)}"}
    client.put_item(TableName=Tables().tasks, Item=item)
    task = Task.from_item(item)
    well_typed = not task.malformed and all(name in item for name in ("payload", "attempts", "created_at"))

    result = store.claim(item["task_id"]["S"], "worker-claim", RunMarkers.at(time.time(), duration=900, cooldown=300))

    assert result.claimed == well_typed
