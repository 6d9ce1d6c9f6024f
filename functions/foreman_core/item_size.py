"""The size of a DynamoDB item as DynamoDB counts it, for the limits that are set in bytes.

DynamoDB's rules ("DynamoDB item sizes and formats"): an item is the sum of its attribute names (UTF-8 bytes) and
values; a string is its UTF-8 bytes, a binary its raw bytes, a number about one byte per two significant digits plus
one, a boolean or null one byte, a list or map 3 bytes plus one per element plus its elements (a map's keys
included), a set the sum of its members. Numbers are counted generously (one byte per digit), so a size from here is
never below DynamoDB's.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

ITEM_BYTES = 400 * 1024
"""The largest item DynamoDB stores (400 KB, names and values counted as above); PutItem refuses a larger one
(``ValidationException``: "Item size has exceeded the maximum allowed size")."""

TRANSACTION_BYTES = 4 * 1024 * 1024
"""TransactWriteItems refuses a transaction whose items add up to more than 4 MB (``ValidationException``)."""


def item_bytes(item: Mapping[str, Mapping[str, Any]]) -> int:
    """The size of an item in the low-level format (``{"task_id": {"S": "..."}, ...}``)."""
    return sum(_utf8(name) + value_bytes(value) for name, value in item.items())


def value_bytes(value: Mapping[str, Any]) -> int:
    """The size of one attribute value in the low-level format (its name not included)."""
    ((kind, data),) = value.items()
    if kind == "S":
        return _utf8(data)
    if kind == "N":
        return len(str(data)) + 1
    if kind == "B":
        return len(_raw(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8(member) for member in data)
    if kind == "NS":
        return sum(len(str(member)) + 1 for member in data)
    if kind == "BS":
        return sum(len(_raw(member)) for member in data)
    if kind == "L":
        return 3 + sum(1 + value_bytes(element) for element in data)
    if kind == "M":
        return 3 + sum(1 + _utf8(key) + value_bytes(element) for key, element in data.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def _raw(data: bytes | str) -> bytes:
    """boto3 hands binary values as bytes; the wire format (and moto's backend) as base64 text."""
    return data if isinstance(data, bytes) else base64.b64decode(data)
