"""Reading what an operator types or files: task payloads (JSON, JSON lines) and points in time.

Everything here validates the whole input before anything is written, and says exactly what is wrong and where
(``tasks.jsonl line 3: invalid JSON: Expecting ',' delimiter (column 12)``), so a bad file writes nothing.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from foreman_core.task_store import InvalidPayloadError, payload_text


class InputError(ValueError):
    """The input is wrong; the message says where and why. Nothing was written."""


def parse_payload(text: str, *, source: str = "--payload") -> dict[str, Any]:
    """One task payload: a JSON object (``{}`` for an empty payload)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{source}: invalid JSON: {error.msg} (column {error.colno})") from None
    return _checked_object(value, source)


def parse_json_lines(text: str, *, source: str) -> list[dict[str, Any]]:
    """Task payloads from JSON-lines text: one JSON object per line; blank lines and ``#`` comment lines are skipped.

    Every line is checked (JSON, an object, storable) before any is returned; the first bad one raises
    ``InputError`` naming ``source`` and its line number. An input with no payload at all is an error too.
    """
    payloads: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{source} line {number}"
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise InputError(f"{where}: invalid JSON: {error.msg} (column {error.colno})") from None
        payloads.append(_checked_object(value, where))
    if not payloads:
        raise InputError(f"{source}: no tasks (expected one JSON object per line)")
    return payloads


def _checked_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        kind = "a list" if isinstance(value, list) else f"JSON {type(value).__name__}"
        raise InputError(f"{where}: expected a JSON object as the task's payload, got {kind}")
    try:
        payload_text(value)
    except InvalidPayloadError as error:
        raise InputError(f"{where}: {error.reason}") from None
    return value


_UNIX = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def parse_time(text: str, *, option: str) -> float:
    """A point in time as unix seconds, from unix seconds (``1767225600``) or ISO 8601 (``2026-01-01T00:00:00Z``,
    ``2026-01-01 09:30+02:00``; a time without an offset is UTC)."""
    value = text.strip()
    if _UNIX.fullmatch(value):
        seconds = float(value)
    else:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InputError(
                f"{option}: {text!r} is not a time; give unix seconds (1767225600) or ISO 8601 (2026-01-01T09:30:00Z)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = moment.timestamp()
    if not math.isfinite(seconds):
        raise InputError(f"{option}: {text!r} is not a finite time")
    return seconds


def format_time(seconds: float) -> str:
    """Unix seconds as ISO 8601 UTC (``2026-01-01T09:30:00Z``)."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
