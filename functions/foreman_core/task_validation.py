"""What makes a stored task one the Orchestrator can invoke: one rule, for whoever creates tasks and for the run.

The Orchestrator sets aside (closes as dead, with the reason) a task it cannot invoke as it is; a task that is
refused when it is created is never queued to die there. ``task_problem`` says why an item would be set aside;
``new_task_problem`` asks it about a task about to be created (``foreman tasks create`` refuses such a task, with
the reason, before anything is written). The run's FetchGreenfieldTasks step asks ``stored_task_problem`` (the same
rule on a task it read), so the two can never disagree.

The rules: the item has every attribute the Claim state reads, each of the type it reads (``Task.malformed`` names
the others); its ``payload`` is a string holding a strict JSON object (no ``NaN``, ``Infinity`` or numbers too large
for a double, which Python's ``json`` accepts and ``States.StringToJson`` does not); the whole item, written as
DynamoDB JSON, fits in ``MAX_TASK_ITEM_BYTES``, because the payload travels in a child's state (its group, the
Claim's parameters, the Invoke's payload), and a state over 256 KiB fails the child (``States.DataLimitExceeded``,
which no catcher takes). The child parses the payload text the fetch read (``States.StringToJson``, whose failure is
``States.Runtime``), so every task it could not parse must be caught before its claim; the claim's condition then
holds the stored task to that text (``task_store.CLAIM_CONDITION``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from foreman_core.task_store import InvalidPayloadError, Task, claim_result_bytes, to_attribute_value

MAX_TASK_ITEM_BYTES = 240 * 1024
"""The largest task item (DynamoDB JSON, UTF-8: its payload escaped as the Claim's parameters and the group carry
it) that can travel through a child's state (256 KiB) with the rest of an InvokeTasks iteration's input."""

REQUIRED_ATTRIBUTES = ("task_id", "labourer_id", "created_at", "greenfield", "attempts", "payload")
"""What the Claim state reads from a task."""

_LARGEST_GREENFIELD = 10**11
"""A claimed task's greenfield (``invoked = start + 31557600``) has at most 11 digits for centuries to come: the
item of a new task is measured with it, so a task that fits when created still fits once claimed."""

AttributeValue = Mapping[str, Any]


def stored_task_problem(task: Task) -> str | None:
    """Why the Orchestrator sets ``task`` (as read from the queue) aside instead of claiming it, or None."""
    missing = [name for name in REQUIRED_ATTRIBUTES if name not in task.attributes]
    if missing:
        return f"missing attribute(s) {', '.join(missing)}"
    if task.malformed:
        return "; ".join(task.malformed.values())
    size = claim_result_bytes(task)
    if size > MAX_TASK_ITEM_BYTES:
        return (
            f"the task is {size} bytes as DynamoDB JSON (as the Claim state reads it), larger than "
            f"{MAX_TASK_ITEM_BYTES} bytes, more than a Step Functions state can carry (256 KiB); keep large data "
            "elsewhere (S3) and pass its key"
        )
    try:
        task.payload  # noqa: B018 - parsing is the check
    except InvalidPayloadError as error:
        return str(error)
    return None


def task_problem(item: Mapping[str, AttributeValue]) -> str | None:
    """Why the Orchestrator would set this task aside instead of invoking it, or None if it can be invoked.

    ``item`` is the low-level DynamoDB item (``{"payload": {"S": "..."}, ...}``), as stored and as the claim
    returns it.
    """
    return stored_task_problem(Task.from_item(item))


def new_task_problem(labourer_id: str, payload_text: str, *, task_id: str | None = None) -> str | None:
    """Why a task about to be created with this payload (JSON text) would be set aside by every run, or None.

    The item is measured as it will be once claimed (an 11-digit greenfield), so what passes here passes the run.
    """
    item = {
        "task_id": task_id if task_id is not None else uuid.uuid4().hex,
        "labourer_id": labourer_id,
        "created_at": time.time(),
        "greenfield": _LARGEST_GREENFIELD,
        "attempts": 0,
        "payload": payload_text,
    }
    return task_problem({name: to_attribute_value(value) for name, value in item.items()})
