"""What makes a stored task one the Orchestrator can invoke: one rule, for whoever creates tasks and for the run.

The Orchestrator sets aside (closes as dead, with the reason) a task it cannot invoke as it is; a task that is
refused when it is created is never queued to die there. ``task_problem`` says why an item would be set aside;
``new_task_problem`` asks it about a task about to be created (``foreman tasks create`` refuses such a task, with
the reason, before anything is written). The run's FetchGreenfieldTasks step is meant to ask ``task_problem`` too,
so the two can never disagree.

The rules: the item has every attribute the Claim state reads; its ``payload`` is a string holding a strict JSON
object (no ``NaN`` or ``Infinity``, which Python's ``json`` accepts and JSON does not); the whole item, written as
DynamoDB JSON, fits in ``MAX_TASK_ITEM_BYTES``, because the claim returns the whole old item into the state, and
a Step Functions state carries at most 256 KiB with the task's fields and the rest of the iteration's input.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Mapping
from typing import Any

from foreman_core.task_store import to_attribute_value

MAX_TASK_ITEM_BYTES = 240 * 1024
"""The largest task item, as compact DynamoDB JSON in UTF-8, that can travel through a state (256 KiB) with the
rest of an InvokeTasks iteration's input."""

REQUIRED_ATTRIBUTES = ("task_id", "labourer_id", "created_at", "greenfield", "attempts", "payload")
"""What the Claim state reads from a task."""

_LARGEST_GREENFIELD = 10**11
"""A claimed task's greenfield (``invoked = start + 31557600``) has at most 11 digits for centuries to come: the
item of a new task is measured with it, so a task that fits when created still fits once claimed."""

AttributeValue = Mapping[str, Any]


class _NonStandardJsonError(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NonStandardJsonError(f"{name} is not JSON (JSON has no NaN or Infinity)")


def strict_json_object(text: str) -> dict[str, Any] | str:
    """The JSON object in ``text``, or the reason it is not one (invalid JSON, ``NaN``/``Infinity``, not an
    object)."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except _NonStandardJsonError as error:
        return f"payload is not strict JSON: {error}"
    except ValueError as error:
        return f"payload is not JSON ({error})"
    if not isinstance(value, dict):
        return f"payload is JSON {type(value).__name__}, not an object"
    return value


def item_size(item: Mapping[str, AttributeValue]) -> int:
    """The bytes of ``item`` (low-level DynamoDB attribute values) as compact DynamoDB JSON, UTF-8."""
    return len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def task_problem(item: Mapping[str, AttributeValue]) -> str | None:
    """Why the Orchestrator would set this task aside instead of invoking it, or None if it can be invoked.

    ``item`` is the low-level DynamoDB item (``{"payload": {"S": "..."}, ...}``), as stored and as the claim
    returns it.
    """
    missing = [name for name in REQUIRED_ATTRIBUTES if name not in item]
    if missing:
        return f"missing attribute(s) {', '.join(missing)}"
    payload = item["payload"].get("S")
    if not isinstance(payload, str):
        return "payload is not a string holding a JSON object"
    size = item_size(item)
    if size > MAX_TASK_ITEM_BYTES:
        return (
            f"the task is {size} bytes as DynamoDB JSON, larger than {MAX_TASK_ITEM_BYTES} bytes, more than a "
            "Step Functions state can carry (256 KiB); keep large data elsewhere (S3) and pass its key"
        )
    parsed = strict_json_object(payload)
    if isinstance(parsed, str):
        return parsed
    created_at = item["created_at"].get("N")
    if created_at is None or not math.isfinite(float(created_at)):
        return "created_at is not a finite number"
    return None


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
