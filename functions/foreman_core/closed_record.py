"""A closed task's record that DynamoDB always stores: what fits in the closed row, the rest in part rows beside it.

Closing a task (``TaskStore.archive``) adds ``closed_at``, ``labourer_id_task_status`` and ``close_reason`` to the item;
an item already near DynamoDB's 400 KB (sosw and hand-written producers write up to the limit) would then be refused
(``ValidationException``) every time, and a set-aside that fails would stop the run. So when the closed item would
pass ``ITEM_BYTES``, ``closed_record`` cuts the largest attributes (usually ``payload``) until the row fits, and keeps
them, exactly, in *part rows* of the same closed table, written in the same transaction:

- the closed row keeps its key, ``labourer_id``, the closing attributes, and every attribute that fits; it names the
  cut ones in ``foreman_cut`` (their names, comma-separated, at most ``CUT_NAMES_CHARS`` characters) and the number
  of part rows in ``foreman_cut_parts``; its ``close_reason`` says so (``close_reason`` is cut to ``REASON_CHARS``);
- part row ``n`` has ``task_id`` = ``part_key(task_id, n)`` (``foreman-part:<n>:<sha256 of the task id>``, so any task
  id fits DynamoDB's 2,048-byte key), ``foreman_part_of`` (the task's id), ``labourer_id``, and ``data``: a piece of the
  cut attributes as compressed DynamoDB JSON. It has no ``labourer_id_task_status``, so it is in none of the closed
  table's index queries (sosw's or Foreman's): it is read only by key.

``restore`` puts the pieces back together: the whole item as it was closed. ``TaskStore.closed_item`` reads it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from foreman_core.item_size import ITEM_BYTES, item_bytes, value_bytes

Item = dict[str, dict[str, Any]]

CUT = "foreman_cut"
"""The closed row's names of the attributes cut from it (comma-separated, cut to ``CUT_NAMES_CHARS``)."""
PARTS = "foreman_cut_parts"
"""The closed row's number of part rows."""
PART_OF = "foreman_part_of"
"""A part row's task id."""
PART_DATA = "data"
"""A part row's piece of the cut attributes (binary)."""
PART_PREFIX = "foreman-part:"

KEPT = ("task_id", "labourer_id", "closed_at", "labourer_id_task_status")
"""What a closed row always keeps: its key and the closed table's index keys. ``close_reason`` (within
``REASON_CHARS``) is cut only after every larger attribute, then replaced by the note that says where the rest is."""

PART_BYTES = 380_000
"""The most data one part row holds: with its key, its task's id (at most 2,048 bytes) and its labourer's, within
``ITEM_BYTES``."""

REASON_CHARS = 1_000
"""The longest ``close_reason`` kept: the reasons Foreman writes are shorter; a longer one is cut, saying so."""

CUT_NAMES_CHARS = 500
"""The longest ``foreman_cut`` (the cut attributes' names): the part rows hold them all."""

_NOTE = (
    "; attributes cut to fit DynamoDB's item limit ({limit:,} bytes), named in foreman_cut, are kept in {parts} part "
    "row(s) of this table (task_id foreman-part:<n>:<sha256 of the task id>; TaskStore.closed_item reads it whole)"
)
_RESERVE = (
    len(CUT)
    + 4 * CUT_NAMES_CHARS
    + len(PARTS)
    + 3
    + 4 * len(_NOTE.format(limit=ITEM_BYTES, parts=99))
    + len("close_reason")
)
"""What the closed row may gain once it is cut: ``foreman_cut``, ``foreman_cut_parts`` and the note in ``close_reason``
(UTF-8 counted at its widest)."""


@dataclass(frozen=True)
class ClosedRecord:
    """The closed row and its part rows (none when the whole item fits)."""

    row: Item
    parts: list[Item]
    cut: list[str]
    """The names of the attributes that are in the part rows instead of the row."""


def part_key(task_id: str, number: int) -> str:
    """The ``task_id`` of a task's part row ``number``."""
    return f"{PART_PREFIX}{number}:{hashlib.sha256(task_id.encode('utf-8')).hexdigest()}"


def bounded_reason(reason: str) -> str:
    """``reason`` cut to ``REASON_CHARS`` characters, saying so."""
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 10] + " ... (cut)"


def closed_record(item: Mapping[str, Mapping[str, Any]]) -> ClosedRecord:
    """The closed row for ``item`` (the task with its closing attributes, ``close_reason`` within ``REASON_CHARS``),
    within ``ITEM_BYTES``, and the part rows holding what did not fit: the largest attributes are cut first, never
    ``KEPT``. ``item`` must have ``task_id`` (S)."""
    row: Item = {name: dict(value) for name, value in item.items()}
    size = item_bytes(row)
    if size <= ITEM_BYTES:
        return ClosedRecord(row, [], [])
    cut: Item = {}
    candidates = sorted(
        (name for name in row if name not in KEPT),
        key=lambda name: len(name.encode("utf-8")) + value_bytes(row[name]),
        reverse=True,
    )
    for name in candidates:
        if size + _RESERVE <= ITEM_BYTES:
            break
        size -= len(name.encode("utf-8")) + value_bytes(row[name])
        cut[name] = row.pop(name)
    data = zlib.compress(json.dumps(_plain(cut), ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    task_id = row["task_id"]["S"]
    pieces = [data[offset : offset + PART_BYTES] for offset in range(0, len(data), PART_BYTES)]
    parts: list[Item] = []
    for number, piece in enumerate(pieces):
        part: Item = {"task_id": {"S": part_key(task_id, number)}, PART_OF: {"S": task_id}, PART_DATA: {"B": piece}}
        if "labourer_id" in row:
            part["labourer_id"] = dict(row["labourer_id"])
        parts.append(part)
    names = ", ".join(cut)
    row[CUT] = {"S": names if len(names) <= CUT_NAMES_CHARS else names[: CUT_NAMES_CHARS - 10] + " ... (cut)"}
    row[PARTS] = {"N": str(len(parts))}
    note = _NOTE.format(limit=ITEM_BYTES, parts=len(parts))
    reason = row.get("close_reason", {}).get("S", "closed")
    row["close_reason"] = {"S": bounded_reason(reason) + note}
    return ClosedRecord(row, parts, list(cut))


def restore(row: Mapping[str, Mapping[str, Any]], parts: Sequence[Mapping[str, Mapping[str, Any]]]) -> Item:
    """The whole closed item from its row and its part rows (in any order): the cut attributes back in place, the
    row's ``foreman_cut`` markers gone. ``ValueError`` if a part is missing."""
    whole: Item = {name: dict(value) for name, value in row.items() if name not in (CUT, PARTS)}
    if PARTS not in row:
        return whole
    task_id = row["task_id"]["S"]
    by_key = {part["task_id"]["S"]: part for part in parts}
    count = int(row[PARTS]["N"])
    missing = [number for number in range(count) if part_key(task_id, number) not in by_key]
    if missing:
        raise ValueError(f"task {task_id}: part row(s) {missing} of {count} missing from the closed table")
    data = b"".join(_raw(by_key[part_key(task_id, number)][PART_DATA]["B"]) for number in range(count))
    whole.update(_typed(json.loads(zlib.decompress(data).decode("utf-8"))))
    return whole


def _raw(data: bytes | str) -> bytes:
    return data if isinstance(data, bytes) else base64.b64decode(data)


def _plain(value: Any) -> Any:
    """Low-level DynamoDB values as JSON: binary as base64 text (the wire format)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {key: _plain(element) for key, element in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(element) for element in value]
    return value


def _typed(item: Mapping[str, Any]) -> Item:
    """``_plain``'s output back as low-level values, binary as bytes (as boto3 hands it)."""
    return {name: _typed_value(value) for name, value in item.items()}


def _typed_value(value: Mapping[str, Any]) -> dict[str, Any]:
    ((kind, data),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(data)}
    if kind == "BS":
        return {"BS": [base64.b64decode(member) for member in data]}
    if kind == "L":
        return {"L": [_typed_value(element) for element in data]}
    if kind == "M":
        return {"M": {key: _typed_value(element) for key, element in data.items()}}
    return {kind: data}
