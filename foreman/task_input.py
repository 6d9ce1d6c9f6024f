"""Reading what an operator types or files: task payloads (JSON, JSON lines) and points in time.

Everything here validates the whole input before anything is written, and says exactly what is wrong and where
(``tasks.jsonl line 3: invalid JSON: Expecting ',' delimiter (column 12)``), so a bad file writes nothing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from foreman_core.task_store import InvalidPayloadError, payload_text


class InputError(ValueError):
    """The input is wrong; the message says where and why. Nothing was written."""


PayloadCheck = Callable[[str], "str | None"]
"""Given a payload's JSON text, why it must not be queued (e.g. ``task_validation.new_task_problem``), or None."""


def parse_payload(text: str, *, source: str = "--payload", check: PayloadCheck | None = None) -> dict[str, Any]:
    """One task payload: a JSON object (``{}`` for an empty payload), refused if ``check`` gives a reason."""
    return _checked_object(_strict_json(text, source), source, check)


def parse_json_lines(text: str, *, source: str, check: PayloadCheck | None = None) -> list[dict[str, Any]]:
    """Task payloads from JSON-lines text: one JSON object per line; blank lines and ``#`` comment lines are skipped.

    Every line is checked (strict JSON, an object, storable, and ``check``) before any is returned; the first bad
    one raises ``InputError`` naming ``source`` and its line number. An input with no payload at all is an error too.
    """
    return [payload for _, payload in numbered_json_lines(text, source=source, check=check)]


def numbered_json_lines(
    text: str, *, source: str, check: PayloadCheck | None = None, from_line: int = 1
) -> list[tuple[int, dict[str, Any]]]:
    """``parse_json_lines`` with each payload's line number (1 for the first line), from line ``from_line`` on (the
    lines before it are not read: where an interrupted ``tasks create --file`` resumes)."""
    payloads: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if number < from_line or not stripped or stripped.startswith("#"):
            continue
        where = f"{source} line {number}"
        payloads.append((number, _checked_object(_strict_json(stripped, where), where, check)))
    if not payloads:
        after = f" at or after line {from_line}" if from_line > 1 else ""
        raise InputError(f"{source}: no tasks{after} (expected one JSON object per line)")
    return payloads


def _refuse_constant(name: str) -> Any:
    raise InputError(f"invalid JSON: {name} (JSON has no NaN or Infinity)")


def _strict_json(text: str, where: str) -> Any:
    """JSON as JSON defines it: Python's ``NaN``, ``Infinity`` and ``-Infinity`` are refused."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise InputError(f"{where}: invalid JSON: {error.msg} (column {error.colno})") from None
    except InputError as error:
        raise InputError(f"{where}: {error}") from None


TASK_FIELDS = ("task_id", "labourer_id", "created_at", "greenfield", "attempts")
"""The task's own fields, which the Orchestrator merges over the payload in the labourer's event (sosw's contract):
a payload key of the same name would be replaced without a word, so it is refused."""


def _checked_object(value: Any, where: str, check: PayloadCheck | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        kind = "a list" if isinstance(value, list) else f"JSON {type(value).__name__}"
        raise InputError(f"{where}: expected a JSON object as the task's payload, got {kind}")
    clashes = [name for name in value if name in TASK_FIELDS]
    if clashes:
        names = ", ".join(repr(name) for name in clashes)
        raise InputError(
            f"{where}: {names} {'is' if len(clashes) == 1 else 'are'} the task's own "
            f"field{'' if len(clashes) == 1 else 's'}, which the labourer's event sets over the payload: rename "
            f"{'it' if len(clashes) == 1 else 'them'} (a task's id is --task-id); nothing was created"
        )
    try:
        text = payload_text(value)
    except InvalidPayloadError as error:
        raise InputError(f"{where}: {error.reason}") from None
    problem = check(text) if check is not None else None
    if problem is not None:
        raise InputError(f"{where}: {problem}; nothing was created (every run would set this task aside)")
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
