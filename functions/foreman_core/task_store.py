"""The task queue in DynamoDB, on sosw's tables and attribute names.

Every read is proportional to what is used: ``Limit = n`` to fetch n tasks, ``Limit = 1`` for the newest (or oldest)
queue position, COUNT queries for counts, one position query per batch of new tasks. A read that needs only a task's
place in the queue asks for those attributes alone (``ProjectionExpression``); the queue is fetched in pages of at
most ``FETCH_PAGE`` items, handed on one task at a time. Every read asks DynamoDB what it cost
(``ReturnConsumedCapacity``) and adds it to ``TaskStore.read_units``. Every state change is
conditional, so two writers never both win and nothing creates a ghost item; a lost race comes back as a result
(``False``, ``claimed=False``, ``accepted=False``), never as an exception. Moves between tables (archive, retry,
requeue) are single transactions, so a task is never in two tables or in none.

Items keep sosw's format, so tasks written by sosw (Scheduler, WorkerAssistant, Scavenger) and by Foreman look the
same to both: ``task_id``, ``labourer_id``, ``created_at``, ``greenfield``, ``attempts``, ``payload`` (a JSON object as
text), then ``completed_at`` and ``stat_<k>`` / ``result_<k>`` on completion, ``failed_attempts`` / ``failed_at`` on a
failure report, ``closed_at`` / ``labourer_id_task_status`` (/ ``close_reason``) in the closed table and
``desired_launch_time`` in the retry table.

The DynamoDB client is a low-level ``boto3.client("dynamodb")`` passed in by the caller; this module creates none.
"""

from __future__ import annotations

import base64
import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from foreman_core.aws_errors import condition_failed, error_code
from foreman_core.closed_record import PARTS as CUT_PARTS
from foreman_core.closed_record import bounded_reason, closed_record, part_key, restore
from foreman_core.config import OrchestratorConfig, Tables
from foreman_core.greenfield import (
    GREENFIELD_INVOCATION_DELTA,
    GREENFIELD_TASK_STEP,
    RunMarkers,
    TaskState,
    classify,
    queue_positions,
    retry_positions,
)
from foreman_core.item_size import TRANSACTION_BYTES, item_bytes

DynamoDBClient = Any
"""A low-level ``boto3.client("dynamodb")`` (typed loosely so that no stubs package is needed)."""

AttributeValue = dict[str, Any]
"""One DynamoDB attribute value in the low-level format, e.g. ``{"N": "2000"}``."""

Item = dict[str, AttributeValue]
"""One DynamoDB item in the low-level format."""

# The claim and its undo. The state machine's DynamoDB integrations use these very strings (a test compares them),
# with the values from ``claim_values`` / ``release_values``.
CLAIM_UPDATE = "SET greenfield = :invoked, attempts = :attempts, foreman_claim = :claim REMOVE foreman_released"
CLAIM_CONDITION = (
    "(labourer_id = :labourer AND greenfield = :seen_greenfield AND attempts = :seen_attempts AND greenfield < :start "
    "AND payload = :payload AND created_at = :created_at) "
    "OR (foreman_claim = :claim AND attribute_not_exists(foreman_released))"
)
"""The task is exactly as it was read (same greenfield and attempts, still queued for this run, and the same payload
text and ``created_at``, which the invoke sends: the claim carries them, so what is sent is what is stored), or it
carries this very claim's mark and was not released since. The second half makes a retried claim idempotent: if
DynamoDB applied the first write but its answer was lost (an ``InternalServerError``), the retry finds its own mark and
writes the same values again, instead of failing its condition and leaving a claim nobody invokes. The values written
are absolute (``attempts`` as read plus one), so writing them twice changes nothing. A task rewritten in any way after
it was read (another payload, even one that is not JSON, another type) fails the condition: a skip, set aside or
taken by the next run, never a ``States.Runtime`` that fails a child.

The mark (``foreman_claim``) is the run's id (``run_clock.new_run_id``). Whether the run went on to send the event is
known from the run, not from another write per task: a run that reached Summarize records itself as finished in the
lease item (``lease.FinishedRuns``), and the Scavenger requeues a task found expired with the mark of a run that did
not finish (stopped, timed out, failed) without spending its attempt."""

RELEASE_UPDATE = "SET greenfield = :previous_greenfield, attempts = :previous_attempts, foreman_released = :claim"
RELEASE_CONDITION = (
    "(foreman_claim = :claim AND attribute_not_exists(foreman_released) AND attribute_not_exists(completed_at)) "
    "OR foreman_released = :claim"
)
"""Undo our own claim of a task whose event was surely not sent (the claim's answer was lost, or Lambda refused the
invoke for a passing reason): restore the pre-claim greenfield and attempts, so the task is queued again at its old
place and no attempt is spent. Conditional on the claim being ours and the task not completed. A retry after a lost
answer finds its own ``foreman_released`` mark and rewrites the same values, so a release that was applied is
reported as released. A claim that was never applied fails the condition: nothing to release."""

ATTEMPT_FAILED_UPDATE = (
    "SET failed_at = :start, result_error = :error, failed_attempts = if_not_exists(failed_attempts, :zero) + :one"
)
ATTEMPT_FAILED_CONDITION = "foreman_claim = :claim AND attribute_not_exists(foreman_released)"
"""Lambda refused the invoke for good (no such function, access denied, payload too large): the attempt is spent and
recorded as a failure report of this attempt (``failed_at`` = the run's start, at or after its invocation, with the
error's name in ``result_error``), on the claim still being ours. The Scavenger's next run retries it after its
delay, or closes it as dead and notifies once it is out of attempts (``failed_tasks``), instead of the task being
released on every run for ever."""

BATCH_GET_SIZE = 100
"""BatchGetItem takes at most 100 keys per call."""

BATCH_WRITE_SIZE = 25
"""BatchWriteItem takes at most 25 items per call."""

TRANSACTION_TASKS = 50
"""Tasks moved per TransactWriteItems call when requeueing: two actions each, 100 actions is DynamoDB's maximum.
Fewer when their items add up to more than DynamoDB's 4 MB per transaction (``transaction_batches``)."""

FETCH_PAGE = 100
"""The most items one Query of the queue asks for (``Limit``). ``iter_next_tasks`` hands them on one at a time and
lets each go, so a fetch holds at most one page of payloads (DynamoDB's 1 MB page usually holds fewer), whatever its
budget."""

TTL_ATTRIBUTE = "foreman_expires_at"
"""The closed table's TTL attribute (unix seconds), written only with ``closed_tasks_ttl_days``: sosw writes no such
attribute, so its rows never expire."""

POSITION_ATTRIBUTES = ("task_id", "labourer_id", "greenfield", "created_at")
"""What a read of a task's place in the queue needs: the greenfield index's keys (to read on from it) and
``created_at`` (its age). On an index that projects every attribute, asking for these alone costs the same read units
(DynamoDB charges the whole index entry read) but carries none of the payload over the network or into memory."""

MAX_PAYLOAD_BYTES = 390_000
"""A DynamoDB item holds at most 400 KB; the payload must leave room for the task's other attributes."""

DEFAULT_DURATION = 900
DEFAULT_COOLDOWN = 300
"""sosw's labourer defaults, used only when ``locate`` is given no markers."""

_TRANSACTION_CANCELLED = "TransactionCanceledException"
_RACE_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict", "None"})


class InvalidPayloadError(ValueError):
    """A payload (or a completion's stats/result) is not a JSON object. Nothing was written.

    ``index`` is the position of the offending payload in a batch (``None`` for a single one).
    """

    def __init__(self, reason: str, *, index: int | None = None) -> None:
        self.index = index
        self.reason = reason
        where = f"payload #{index}" if index is not None else "payload"
        super().__init__(f"invalid {where}: {reason}")


class TaskExistsError(ValueError):
    """``create_task`` / ``create_delayed_task`` was given a ``task_id`` that is already stored. Nothing was written."""


class UnprocessedWritesError(RuntimeError):
    """BatchWriteItem kept returning UnprocessedItems (throttling) after every retry.

    ``written`` tasks are stored; the ``unwritten_ids`` are not, and can be created again.
    """

    def __init__(self, written: int, unwritten_ids: list[str]) -> None:
        self.written = written
        self.unwritten_ids = unwritten_ids
        super().__init__(
            f"DynamoDB kept throttling the batch write: {written} task(s) written, {len(unwritten_ids)} not written "
            f"(first ids: {', '.join(unwritten_ids[:5])}); create those again"
        )


class Where(StrEnum):
    """Where a task is: its state in the tasks table, the retry table, the closed table, or nowhere."""

    QUEUED = "queued"
    RUNNING = "running"
    EXPIRED = "expired"
    COMPLETED = "completed"
    RETRY = "retry"
    CLOSED_COMPLETED = "closed-completed"
    CLOSED_DEAD = "closed-dead"
    UNKNOWN = "unknown"


# ---------------------------------------------------------------------------------------------------------------------
# Attribute values: low-level DynamoDB format <-> plain Python


def to_attribute_value(value: Any) -> AttributeValue:
    """A plain Python value as a DynamoDB attribute value (what sosw's type guessing writes for the same value).

    Numbers become N (finite floats only), strings S, bools BOOL, ``None`` NULL, mappings M, lists/tuples L, bytes B,
    non-empty sets SS/NS/BS.
    """
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, int | float | Decimal):
        return {"N": _number_text(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute_value(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute_value(v) for v in value]}
    if isinstance(value, set | frozenset) and value:
        if all(isinstance(v, str) for v in value):
            return {"SS": sorted(value)}
        if all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in value):
            return {"NS": sorted(_number_text(v) for v in value)}
        if all(isinstance(v, bytes | bytearray) for v in value):
            return {"BS": sorted(bytes(v) for v in value)}
    raise TypeError(f"cannot store {type(value).__name__} value {value!r} in DynamoDB")


def from_attribute_value(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value as plain Python: numbers are ``int`` when integral, else ``float``."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return raw
    if kind == "N":
        return _number(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attribute_value(v) for k, v in raw.items()}
    if kind == "L":
        return [from_attribute_value(v) for v in raw]
    if kind == "B":
        return bytes(raw)
    if kind == "SS":
        return set(raw)
    if kind == "NS":
        return {_number(v) for v in raw}
    if kind == "BS":
        return {bytes(v) for v in raw}
    raise TypeError(f"unknown DynamoDB attribute type {kind!r}")


def strict_json(text: str) -> Any:
    """Decode JSON as Step Functions' ``States.StringToJson`` accepts it: ``ValueError`` for what Python's ``json``
    alone would let through, ``NaN``, ``Infinity`` and numbers too large for a double."""

    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    def finite(number: str) -> float:
        value = float(number)
        if not math.isfinite(value):
            raise ValueError(f"{number} is too large for a JSON number")
        return value

    return json.loads(text, parse_constant=refuse_constant, parse_float=finite)


def _kind(value: Mapping[str, Any]) -> str:
    """The DynamoDB type of a low-level attribute value (``S``, ``N``, ``B``, ``M``...)."""
    return next(iter(value), "?")


def _number(text: str | Decimal) -> int | float:
    number = Decimal(text)
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def _number_text(value: int | float | Decimal) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"cannot store {value!r} in DynamoDB (numbers must be finite)")
        return repr(value)
    return str(value)


def _n(value: int | float) -> AttributeValue:
    return {"N": _number_text(value)}


def _s(value: str) -> AttributeValue:
    return {"S": value}


# ---------------------------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Task:
    """One task as stored. ``attributes`` holds every stored attribute as plain Python (numbers as ``int`` when
    integral, else ``float``); the other fields are typed shortcuts to the ones every task has.

    ``payload_text`` is the stored JSON text (``None`` if the item has no payload or it is not a string), ``payload``
    its decoded object. Equality compares the shortcut fields only.
    """

    task_id: str
    labourer_id: str
    greenfield: int
    attempts: int
    created_at: float
    payload_text: str | None = None
    completed_at: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict, compare=False)
    malformed: dict[str, str] = field(default_factory=dict, compare=False)
    """Attributes whose stored type or value the task's fields cannot hold, each with why (see ``from_item``)."""
    raw: Item | None = field(default=None, compare=False, repr=False)
    """The item exactly as read from DynamoDB (``None`` for a task built in memory)."""

    @classmethod
    def from_item(cls, item: Mapping[str, Mapping[str, Any]]) -> Task:
        """A task from a low-level DynamoDB item. Never raises, whatever the item holds: sosw's ghost items (most
        attributes missing) and hand-written items with attributes of the wrong type (``attempts`` = ``"two"``, a
        binary ``payload``) both load. A wrong-typed attribute is named in ``malformed`` with why, its typed
        shortcut takes a neutral value (0, ``None``), and ``raw`` keeps the item exactly as read."""
        attributes = {name: from_attribute_value(value) for name, value in item.items()}
        malformed: dict[str, str] = {}
        expected = {"task_id": "S", "labourer_id": "S", "greenfield": "N", "attempts": "N", "created_at": "N"}
        for name, kind in {**expected, "payload": "S"}.items():
            if name in item and _kind(item[name]) != kind:
                malformed[name] = f"{name} is of DynamoDB type {_kind(item[name])}, not {kind}"
        attempts = attributes.get("attempts", 0)
        if "attempts" not in malformed and "attempts" in item and (not isinstance(attempts, int) or attempts < 0):
            malformed["attempts"] = f"attempts is {attempts!r}, not a whole number of at least 0"
        created_at = attributes.get("created_at", 0.0)
        if "created_at" not in malformed and "created_at" in item and not math.isfinite(float(created_at)):
            malformed["created_at"] = "created_at is not a finite number"
        payload = attributes.get("payload")
        completed_at = attributes.get("completed_at")
        return cls(
            task_id=str(attributes.get("task_id", "")),
            labourer_id=str(attributes.get("labourer_id", "")),
            greenfield=int(attributes.get("greenfield", 0)) if "greenfield" not in malformed else 0,
            attempts=int(attempts) if "attempts" not in malformed else 0,
            created_at=float(created_at) if "created_at" not in malformed else 0.0,
            payload_text=payload if isinstance(payload, str) else None,
            completed_at=float(completed_at) if isinstance(completed_at, int | float) else None,
            attributes=attributes,
            malformed=malformed,
            raw={name: dict(value) for name, value in item.items()},
        )

    @property
    def payload(self) -> dict[str, Any]:
        """The payload as a dict (``{}`` when the task has none). ``InvalidPayloadError`` if the stored text is not a
        JSON object (e.g. the Python repr that sosw's ``archive_task`` writes)."""
        if self.payload_text is None:
            return {}
        try:
            decoded = strict_json(self.payload_text)
        except (ValueError, RecursionError) as err:
            raise InvalidPayloadError(f"task {self.task_id}: stored payload is not JSON ({err})") from err
        if not isinstance(decoded, dict):
            raise InvalidPayloadError(
                f"task {self.task_id}: stored payload is JSON {type(decoded).__name__}, not an object"
            )
        return decoded

    def state(self, markers: RunMarkers) -> TaskState:
        """Queued, running, expired or completed under ``markers`` (meaningful only while in the tasks table)."""
        return classify(self.greenfield, completed=self.is_completed, markers=markers)

    @property
    def is_completed(self) -> bool:
        """Whether ``completed_at`` is set."""
        return self.completed_at is not None or "completed_at" in self.attributes

    @property
    def stored_greenfield(self) -> int | float:
        """The greenfield exactly as read (used in "unchanged since read" conditions)."""
        value = self.attributes.get("greenfield", self.greenfield)
        return value if isinstance(value, int | float) else self.greenfield

    @property
    def stored_created_at_text(self) -> str:
        """``created_at`` exactly as stored (its DynamoDB number text), for an "unchanged since read" condition; a
        task without a numeric one gives its shortcut's (a number: such a task's condition fails, as it must)."""
        stored = (self.raw or {}).get("created_at", {})
        if isinstance(stored, Mapping) and isinstance(stored.get("N"), str):
            return str(stored["N"])
        value = self.attributes.get("created_at")
        return _number_text(value if isinstance(value, int | float) and math.isfinite(value) else self.created_at)

    def position(self) -> Task:
        """This task without its payload and other attributes: only ``POSITION_ATTRIBUTES`` (as stored), enough to
        read on from it in the queue (``iter_next_tasks(after=...)``) and to tell its age."""
        raw = self.raw if self.raw is not None else self.to_item()
        return Task.from_item({name: raw[name] for name in POSITION_ATTRIBUTES if name in raw})

    def to_item(self) -> Item:
        """The task as a low-level item: every attribute, with the dataclass fields taking precedence (a stored
        number equal to its field is kept exactly as stored). A task read from DynamoDB keeps what it stored: no
        attribute is added that the item did not have, and a ``malformed`` one is kept as it was."""
        attributes = dict(self.attributes)
        fields: dict[str, Any] = {
            "task_id": self.task_id,
            "labourer_id": self.labourer_id,
            "greenfield": self.greenfield,
            "attempts": self.attempts,
            "created_at": self.created_at,
            "payload": self.payload_text,
            "completed_at": self.completed_at,
        }
        for name, value in fields.items():
            stored = attributes.get(name)
            if value is None or name in self.malformed or (self.raw is not None and name not in self.raw):
                continue  # kept as stored: a wrong type, or an attribute the item did not have
            same_number = (
                isinstance(stored, int | float) and isinstance(value, int | float) and int(stored) == int(value)
            )
            if same_number and (name in ("greenfield", "attempts") or stored == value):
                continue
            attributes[name] = value
        raw = self.raw or {}
        return {
            name: dict(raw[name])
            if name in raw and from_attribute_value(raw[name]) == value
            else to_attribute_value(value)
            for name, value in attributes.items()
        }


@dataclass(frozen=True)
class ClaimResult:
    """The outcome of ``claim``. ``claimed=False`` means another run (or a concurrent change) won: skip the task.

    On success ``task`` is the task as it was *before* the claim: its payload, and the greenfield and attempts that
    sosw's worker contract sends and that ``release`` restores. ``invoked`` is the greenfield the claim wrote.
    """

    claimed: bool
    task_id: str
    invoked: int
    task: Task | None = None
    claim_id: str | None = None
    """The claim's mark (``foreman_claim``), which ``release`` is conditional on."""

    @property
    def previous_greenfield(self) -> int | None:
        """The pre-claim greenfield (``None`` when not claimed)."""
        return None if self.task is None else self.task.greenfield

    @property
    def previous_attempts(self) -> int | None:
        """The pre-claim attempts (``None`` when not claimed)."""
        return None if self.task is None else self.task.attempts


@dataclass(frozen=True)
class CompletionResult:
    """The outcome of ``mark_completed`` / ``mark_failed``.

    ``accepted=True``: the report was recorded and ``task`` is the task after the update. ``accepted=False``: nothing
    was written; ``reason`` says why (``"late: task already completed"``, ``"late: task is queued again
    (retried)"``, ``"late: task is waiting for retry"``, ``"late: task is closed (...)"``, ``"unknown task"``, ...),
    ``where`` and ``task`` say where the task was found (running/expired judged with sosw's default 1200 s expiry).
    """

    accepted: bool
    task_id: str
    reason: str | None = None
    where: Where | None = None
    task: Task | None = None


@dataclass(frozen=True)
class Location:
    """Where ``locate`` found a task, with the task as stored there (``None`` when unknown)."""

    where: Where
    task: Task | None = None


# ---------------------------------------------------------------------------------------------------------------------
# Expression values shared with the state machine


def claim_values(labourer_id: str, markers: RunMarkers, seen: Task, claim_id: str) -> Item:
    """``ExpressionAttributeValues`` for ``CLAIM_UPDATE`` / ``CLAIM_CONDITION``: claim ``seen`` (the task as read)
    for the run of ``markers``, marked ``claim_id`` (the Orchestrator uses its execution ARN)."""
    return {
        ":invoked": _n(markers.invoked),
        ":attempts": _n(seen.attempts + 1),
        ":claim": _s(claim_id),
        ":labourer": _s(labourer_id),
        ":seen_greenfield": _n(seen.stored_greenfield),
        ":seen_attempts": _n(seen.attempts),
        ":start": _n(markers.start),
        ":payload": _s(seen.payload_text if seen.payload_text is not None else ""),
        ":created_at": {"N": seen.stored_created_at_text},
    }


def claim_item(task: Task) -> list[str]:
    """One task as FetchGreenfieldTasks hands it to the Claim state: ``[task_id, greenfield, attempts, attempts + 1,
    payload, created_at]``, the numbers as DynamoDB writes them and the payload as its stored JSON text (strings). The
    claim's condition holds the payload and ``created_at`` to these (``CLAIM_CONDITION``), and the invoke sends them:
    the state parses only a payload the fetch has already checked (``task_validation``)."""
    return [
        task.task_id,
        _number_text(task.stored_greenfield),
        str(task.attempts),
        str(task.attempts + 1),
        task.payload_text if task.payload_text is not None else "",
        task.stored_created_at_text,
    ]


def release_values(previous_greenfield: int | float, previous_attempts: int, claim_id: str) -> Item:
    """``ExpressionAttributeValues`` for ``RELEASE_UPDATE`` / ``RELEASE_CONDITION``."""
    return {
        ":previous_greenfield": _n(previous_greenfield),
        ":previous_attempts": _n(previous_attempts),
        ":claim": _s(claim_id),
    }


def payload_text(payload: Mapping[str, Any] | str | None, *, index: int | None = None) -> str:
    """A payload as the JSON-object text that is stored: a mapping is dumped, a string must already be a JSON object,
    ``None`` is ``{}``. Anything else raises ``InvalidPayloadError`` (naming ``index`` and the reason)."""
    if payload is None:
        return "{}"
    if isinstance(payload, Mapping):
        try:
            text = json.dumps(dict(payload), allow_nan=False)
        except (TypeError, ValueError) as err:
            raise InvalidPayloadError(f"not JSON-serialisable ({err})", index=index) from err
    elif isinstance(payload, str):
        try:
            decoded = json.loads(payload)
        except ValueError as err:
            raise InvalidPayloadError(f"string is not JSON ({err})", index=index) from err
        if not isinstance(decoded, dict):
            raise InvalidPayloadError(f"JSON {type(decoded).__name__}, expected an object", index=index)
        text = payload
    else:
        raise InvalidPayloadError(f"{type(payload).__name__}, expected a dict or a JSON-object string", index=index)
    size = len(text.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidPayloadError(
            f"{size} bytes; a DynamoDB item holds at most 400 KB (keep payloads under {MAX_PAYLOAD_BYTES} bytes)",
            index=index,
        )
    return text


def claim_result_bytes(task: Task) -> int:
    """The size of the Claim state's raw result for ``task``: the whole stored item in DynamoDB JSON, as Step
    Functions serializes it (UTF-8, strings escaped, binary as base64), under ``Attributes``."""

    def plain(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            return base64.b64encode(value).decode()
        if isinstance(value, Mapping):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [plain(item) for item in value]
        return value

    item = task.raw if task.raw is not None else task.to_item()
    text = json.dumps({"Attributes": plain(item)}, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode())


_POSITION_PROJECTION = ", ".join(POSITION_ATTRIBUTES)


def _running(item: Mapping[str, Any], markers: RunMarkers) -> bool:
    """Whether a stored item (low-level, as read) is running under ``markers``: greenfield at or above ``expired``, not
    completed."""
    greenfield = item.get("greenfield", {}).get("N")
    if greenfield is None or "completed_at" in item:
        return False
    try:
        return Decimal(greenfield) >= markers.expired
    except ArithmeticError:
        return False


def _queue_key(task: Task) -> Item:
    """Where ``task`` stands in the greenfield index, as an ``ExclusiveStartKey`` to read on from it."""
    raw = task.raw or task.to_item()
    return {name: raw[name] for name in ("task_id", "labourer_id", "greenfield")}


REPORT_CUT = "foreman_report_cut"
"""Set by a completion or failure report whose stats and result were left out because the task would have passed
DynamoDB's 400 KB with them: names what was left out."""


def _too_large(err: ClientError) -> bool:
    """Whether DynamoDB refused a write because the item would pass its size limit."""
    message = str(err.response.get("Error", {}).get("Message", ""))
    return error_code(err) == "ValidationException" and "size" in message and "exceeded" in message


def _report_fields(kind: str, values: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """``stat_<k>`` / ``result_<k>`` attributes from a completion's stats or result (a dict or a JSON-object text)."""
    if values is None:
        return {}
    if isinstance(values, str):
        try:
            values = json.loads(values)
        except ValueError as err:
            raise InvalidPayloadError(f"{kind} is not JSON ({err})") from err
    if not isinstance(values, Mapping):
        raise InvalidPayloadError(f"{kind} must be a JSON object, got {type(values).__name__}")
    prefix = "stat_" if kind == "stats" else "result_"
    return {f"{prefix}{key}": value for key, value in values.items()}


def _require_id(value: str | None, name: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def _lost_race(err: ClientError) -> bool:
    """A transaction cancelled only because a condition failed or another transaction touched the same items."""
    if error_code(err) != _TRANSACTION_CANCELLED:
        return False
    reasons = err.response.get("CancellationReasons") or []
    codes = {str(reason.get("Code", "None")) for reason in reasons}
    return not codes or codes <= _RACE_REASONS


def transaction_batches(moves: Sequence[tuple[Task, Item]]) -> Iterator[list[tuple[Task, Item]]]:
    """Consecutive batches of requeue moves (the retry row as read, the item to put) that each fit one
    TransactWriteItems: at most ``TRANSACTION_TASKS`` moves, and items adding up to at most 4 MB, counting both the
    put and the retry row it deletes (DynamoDB counts the items a transaction touches, so a delete counts as the
    deleted item: the stricter reading)."""
    batch: list[tuple[Task, Item]] = []
    size = 0
    for task, item in moves:
        move_size = item_bytes(item) + item_bytes(task.to_item())
        if batch and (len(batch) == TRANSACTION_TASKS or size + move_size > TRANSACTION_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((task, item))
        size += move_size
    if batch:
        yield batch


# ---------------------------------------------------------------------------------------------------------------------
# The store


class TaskStore:
    """Tasks of every labourer, on sosw's three tables (names from ``tables``).

    ``delta`` / ``step`` are sosw's ``greenfield_invocation_delta`` / ``greenfield_task_step``; ``clock`` gives "now"
    (unix seconds). ``sleep``, ``max_write_attempts`` and ``max_backoff`` govern retries of throttled batch writes.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        tables: Tables,
        *,
        closed_ttl_days: int | None = None,
        delta: int = GREENFIELD_INVOCATION_DELTA,
        step: int = GREENFIELD_TASK_STEP,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_write_attempts: int = 12,
        max_backoff: float = 2.0,
    ) -> None:
        self._client = client
        self._tables = tables
        self._delta = delta
        self._step = step
        self._clock = clock
        self._closed_ttl_seconds = None if closed_ttl_days is None else closed_ttl_days * 86_400
        self._sleep = sleep
        self._max_write_attempts = max_write_attempts
        self._max_backoff = max_backoff
        self.read_units = 0.0
        """The read capacity units DynamoDB reported for every read made through this store so far (each asks with
        ``ReturnConsumedCapacity``); ``take_read_units`` reads and resets it."""

    @classmethod
    def for_config(
        cls, client: DynamoDBClient, config: OrchestratorConfig, *, clock: Callable[[], float] = time.time
    ) -> TaskStore:
        """The store a run uses: the config's tables, ``greenfield_invocation_delta``, ``greenfield_task_step`` and
        ``closed_tasks_ttl_days``."""
        return cls(
            client,
            config.tables,
            delta=config.greenfield_invocation_delta,
            step=config.greenfield_task_step,
            clock=clock,
            closed_ttl_days=config.closed_tasks_ttl_days,
        )

    def take_read_units(self) -> float:
        """The read units consumed since the last call (or since the store was made), and start counting again."""
        units, self.read_units = self.read_units, 0.0
        return units

    @property
    def tables(self) -> Tables:
        """The table and index names in use."""
        return self._tables

    # -- creating ------------------------------------------------------------------------------------------------------

    def create_task(
        self, labourer_id: str, payload: Mapping[str, Any] | str | None = None, *, task_id: str | None = None
    ) -> Task:
        """Queue one task at the end of the labourer's queue (one ``Limit=1`` query, one conditional PutItem).

        ``InvalidPayloadError`` / ``TaskExistsError`` (an existing ``task_id``) mean nothing was written. Like sosw,
        the position is read then written, so two concurrent creators can get the same position (harmless: ties are
        ordered by the index, and each task is still claimed once).
        """
        _require_id(labourer_id, "labourer_id")
        _require_id(task_id, "task_id", optional=True)
        text = payload_text(payload)
        now = self._clock()
        (position,) = queue_positions(self._newest_position(labourer_id, now), 1, step=self._step)
        task = self._new_task(labourer_id, text, position, now, task_id=task_id)
        self._put_new(self._tables.tasks, task.to_item(), task.task_id)
        return task

    def create_tasks(self, labourer_id: str, payloads: Iterable[Mapping[str, Any] | str | None]) -> list[Task]:
        """Queue many tasks, in order, at the end of the labourer's queue: positions ``newest + step``,
        ``newest + 2 * step``, ... (2000, 3000, ... on an empty queue).

        Every payload is checked before anything is written (``InvalidPayloadError`` names the first bad one). Costs
        one ``Limit=1`` query per call plus one BatchWriteItem per 25 tasks; throttled items are retried with
        backoff, and ``UnprocessedWritesError`` (listing what was not written) is raised only if they never go in.
        """
        _require_id(labourer_id, "labourer_id")
        texts = [payload_text(payload, index=index) for index, payload in enumerate(payloads)]
        if not texts:
            return []
        now = self._clock()
        positions = queue_positions(self._newest_position(labourer_id, now), len(texts), step=self._step)
        tasks = [
            self._new_task(labourer_id, text, position, now) for text, position in zip(texts, positions, strict=True)
        ]
        self._batch_put(self._tables.tasks, tasks)
        return tasks

    def create_delayed_task(
        self,
        labourer_id: str,
        payload: Mapping[str, Any] | str | None,
        *,
        not_before: float,
        task_id: str | None = None,
    ) -> Task:
        """Create a task that starts no earlier than ``not_before`` (unix seconds).

        It is written to the retry table (``desired_launch_time = not_before``, ``attempts = 0``), where
        ``requeue_due_retries`` (and sosw's Scavenger) will move it to the head of the queue once due. A future
        greenfield would not work: sosw and Foreman would both read it as an expired task.
        """
        _require_id(labourer_id, "labourer_id")
        _require_id(task_id, "task_id", optional=True)
        text = payload_text(payload)
        now = self._clock()
        (position,) = queue_positions(self._newest_position(labourer_id, now), 1, step=self._step)
        task = self._new_task(labourer_id, text, position, now, task_id=task_id)
        item = task.to_item()
        item["desired_launch_time"] = _n(not_before)
        self._put_new(self._tables.retry, item, task.task_id)
        return Task.from_item(item)

    # -- reading the queue -------------------------------------------------------------------------------------------

    def next_tasks(self, labourer_id: str, count: int, *, start: int | float, after: Task | None = None) -> list[Task]:
        """The ``count`` oldest tasks available to a run that started at ``start`` (``greenfield < start``), oldest
        first; with ``after``, those that come after that task in the queue. Reads at most ``count`` items. The index
        is eventually consistent: only ``claim`` decides who runs a task. Holds them all: to go through many large
        tasks, use ``iter_next_tasks``."""
        return list(self.iter_next_tasks(labourer_id, count, start=start, after=after))

    def iter_next_tasks(
        self, labourer_id: str, count: int, *, start: int | float, after: Task | None = None, page: int = FETCH_PAGE
    ) -> Iterator[Task]:
        """``next_tasks`` one task at a time: whole items (payloads included), read in pages of at most ``page``
        items. Each item is let go once handed on, so a caller that keeps only what it needs of each task (a claim
        item, a ``Task.position``) holds at most one page of payloads, whatever ``count``."""
        if count <= 0:
            return
        query: dict[str, Any] = {
            **self._greenfield_query(labourer_id, "greenfield < :start", {":start": _n(start)}),
            "ScanIndexForward": True,
        }
        if after is not None:
            query["ExclusiveStartKey"] = _queue_key(after)
        left = count
        while left > 0:
            response = self._read("query", **query, Limit=min(left, max(page, 1)))
            last_key = response.get("LastEvaluatedKey")
            items: list[Item] = response.pop("Items", [])
            del response
            items.reverse()  # handed on oldest first, each dropped from the page as it goes
            while items and left > 0:
                left -= 1
                yield Task.from_item(items.pop())
            if last_key is None:
                return
            query["ExclusiveStartKey"] = last_key

    def queue_length(self, labourer_id: str, *, start: float | None = None) -> int:
        """How many tasks are queued (``greenfield < start``, default now). A COUNT query: reads every queued item's
        index entry, so use it for reports, not on the hot path."""
        start = self._clock() if start is None else start
        query = self._greenfield_query(labourer_id, "greenfield < :start", {":start": _n(start)})
        return sum(int(page.get("Count", 0)) for page in self._pages({**query, "Select": "COUNT"}))

    def queue_ends(self, labourer_id: str, *, start: float, head: bool = True) -> tuple[Task | None, Task | None]:
        """The head (next to be taken, lowest greenfield) and the tail (newest position) of the labourer's queue
        (``greenfield < start``); ``(None, None)`` when it is empty. Two ``Limit=1`` queries: one item read each,
        whatever the queue's length (one for an empty queue); with ``head=False`` only the tail's (the head comes back
        ``None``). Each end is read as its ``POSITION_ATTRIBUTES`` only (no payload)."""
        query = self._greenfield_query(labourer_id, "greenfield < :start", {":start": _n(start)})
        ends: list[Task | None] = [] if head else [None]
        for forward in (True, False) if head else (False,):
            items = self._read(
                "query", **query, ScanIndexForward=forward, Limit=1, ProjectionExpression=_POSITION_PROJECTION
            ).get("Items", [])
            ends.append(Task.from_item(items[0]) if items else None)
            if not items:  # an empty queue has no tail either
                return None, None
        return ends[0], ends[1]

    def has_queued(self, labourer_id: str, *, start: float) -> bool:
        """Whether any task waits in the labourer's queue (``greenfield < start``): one ``Limit=1`` query reading at
        most one index entry's position (0.5 read unit), whatever the queue's length."""
        query = self._greenfield_query(labourer_id, "greenfield < :start", {":start": _n(start)})
        page = self._read("query", **query, Limit=1, ProjectionExpression=_POSITION_PROJECTION)
        return bool(page.get("Items"))

    def has_invoked(self, labourer_id: str, *, start: float) -> bool:
        """Whether the labourer has an invoked task in the tasks table (``greenfield >= start``: running, completed,
        expired or failed; anything the Scavenger may have to move): one ``Limit=1`` query, one item read."""
        query = self._greenfield_query(labourer_id, "greenfield >= :start", {":start": _n(start)})
        page = self._read("query", **query, Limit=1, ProjectionExpression=_POSITION_PROJECTION)
        return bool(page.get("Items"))

    def has_due_retry(self, labourer_id: str, *, now: float) -> bool:
        """Whether a task of the labourer waits in the retry table and is due (``desired_launch_time <= now``): one
        ``Limit=1`` query on the retry index, one item read."""
        page = self._read(
            "query",
            TableName=self._tables.retry,
            IndexName=self._tables.retry_index,
            KeyConditionExpression="labourer_id = :labourer AND desired_launch_time <= :now",
            ExpressionAttributeValues={":labourer": _s(labourer_id), ":now": _n(now)},
            Limit=1,
            ProjectionExpression="task_id",
        )
        return bool(page.get("Items"))

    def count_running(
        self,
        labourer_id: str,
        markers: RunMarkers,
        *,
        recent_ids: Sequence[str] = (),
        recent_unknown: int = 0,
    ) -> int:
        """How many of the labourer's tasks are running: ``expired <= greenfield <= claim_ceiling`` and no
        ``completed_at``.

        sosw counts ``BETWEEN expired AND invoked``. The upper bound is raised to ``markers.claim_ceiling`` on
        purpose: a run that overlaps ours and started a little later claims with a greenfield above our ``invoked``;
        those tasks are running too, and leaving them out would let this run invoke more than the labourer's cap.
        What lies above the ceiling no claim wrote (``far_future_tasks``): counting it would starve the labourer.

        The count reads the greenfield index, which is eventually consistent: the tasks the previous run claimed just
        before (``recent_ids``, from the lease's record, ``lease.PreviousHolder``) may not show there yet. The query
        then reads each entry's id, and those of ``recent_ids`` it did not see are read from the table itself
        (BatchGetItem, strongly consistent) and counted if they are running: the count never falls short of them.
        ``recent_unknown`` claims whose ids were not recorded are counted as running (fewer invocations, never more).
        The query costs the same read units either way; the table reads cost only when the index lags.
        """
        query = self._greenfield_query(
            labourer_id,
            "greenfield BETWEEN :expired AND :ceiling",
            {":expired": _n(markers.expired), ":ceiling": _n(markers.claim_ceiling)},
        )
        if not recent_ids:
            query.update(Select="COUNT", FilterExpression="attribute_not_exists(completed_at)")
            return recent_unknown + sum(int(page.get("Count", 0)) for page in self._pages(query))
        query.update(ProjectionExpression="task_id, completed_at")
        running = 0
        seen: set[str] = set()
        for page in self._pages(query):
            for item in page.get("Items", []):
                running += "completed_at" not in item
                seen.add(item.get("task_id", {}).get("S", ""))
        unseen = [task_id for task_id in dict.fromkeys(recent_ids) if task_id not in seen]
        return recent_unknown + running + sum(1 for task in self._get_many(unseen) if _running(task, markers))

    def _get_many(self, task_ids: Sequence[str]) -> Iterator[Mapping[str, Any]]:
        """The stored items of ``task_ids`` that exist (strongly consistent BatchGetItem, 100 keys a call, unprocessed
        keys asked again), with only the attributes a running count needs."""
        for offset in range(0, len(task_ids), BATCH_GET_SIZE):
            keys: list[Item] = [{"task_id": _s(task_id)} for task_id in task_ids[offset : offset + BATCH_GET_SIZE]]
            while keys:
                response = self._read(
                    "batch_get_item",
                    RequestItems={
                        self._tables.tasks: {
                            "Keys": keys,
                            "ConsistentRead": True,
                            "ProjectionExpression": "task_id, greenfield, completed_at",
                        }
                    },
                )
                yield from response.get("Responses", {}).get(self._tables.tasks, [])
                keys = response.get("UnprocessedKeys", {}).get(self._tables.tasks, {}).get("Keys", [])

    def far_future_tasks(self, labourer_id: str, markers: RunMarkers, *, limit: int | None = None) -> list[Task]:
        """Unfinished tasks whose greenfield is above any claim marker (``> markers.claim_ceiling``, no
        ``completed_at``): written by hand or by a clock far ahead, neither queued nor running; at most ``limit``."""
        query = self._greenfield_query(labourer_id, "greenfield > :ceiling", {":ceiling": _n(markers.claim_ceiling)})
        query["FilterExpression"] = "attribute_not_exists(completed_at)"
        return self._collect(query, limit)

    def expired_tasks(self, labourer_id: str, markers: RunMarkers, *, limit: int | None = None) -> list[Task]:
        """Tasks invoked but neither completed nor running any more (``start <= greenfield <= expired``, no
        ``completed_at``), oldest invocation first; at most ``limit``."""
        query = self._greenfield_query(
            labourer_id,
            "greenfield BETWEEN :start AND :expired",
            {":start": _n(markers.start), ":expired": _n(markers.expired)},
        )
        query["FilterExpression"] = "attribute_not_exists(completed_at)"
        return self._collect(query, limit)

    def failed_tasks(self, labourer_id: str, markers: RunMarkers, *, limit: int | None = None) -> list[Task]:
        """Tasks still in their running window (``greenfield > expired``, no ``completed_at``) whose current
        invocation reported a failure (``failed_at`` at or after it was invoked), at most ``limit``.

        One query on the greenfield index filtered on ``failed_at``: it reads the labourer's running tasks' index
        entries (bounded by its cap), not its queue. A failure reported by an earlier attempt does not count.
        """
        query = self._greenfield_query(labourer_id, "greenfield > :expired", {":expired": _n(markers.expired)})
        query["FilterExpression"] = "attribute_exists(failed_at) AND attribute_not_exists(completed_at)"
        found: list[Task] = []
        if limit is not None and limit <= 0:
            return found
        for page in self._pages(query):
            for task in (Task.from_item(item) for item in page.get("Items", [])):
                if self.failed_this_attempt(task):
                    found.append(task)
                    if limit is not None and len(found) >= limit:
                        return found
        return found

    def labourer_tasks(self, labourer_id: str, *, limit: int | None = None) -> list[Task]:
        """Every task of the labourer in the tasks table (queued, running, expired or completed), in queue order
        (greenfield ascending), at most ``limit``: for a person looking (``foreman tasks list``), not for a run."""
        return self._collect(self._greenfield_query(labourer_id, "greenfield >= :zero", {":zero": _n(0)}), limit)

    def waiting_retries(self, labourer_id: str, *, limit: int | None = None) -> list[Task]:
        """The labourer's tasks in the retry table, soonest ``desired_launch_time`` first, at most ``limit``."""
        query = {
            "TableName": self._tables.retry,
            "IndexName": self._tables.retry_index,
            "KeyConditionExpression": "labourer_id = :labourer AND desired_launch_time >= :zero",
            "ExpressionAttributeValues": {":labourer": _s(labourer_id), ":zero": _n(0)},
        }
        return self._collect(query, limit)

    def failed_this_attempt(self, task: Task) -> bool:
        """Whether ``task`` reported a failure for its current invocation (``failed_at`` at or after it)."""
        failed_at = task.attributes.get("failed_at")
        if not isinstance(failed_at, int | float) or isinstance(failed_at, bool):
            return False
        return failed_at >= task.greenfield - self._delta

    def completed_tasks(self, labourer_id: str, *, now: float | None = None, limit: int | None = None) -> list[Task]:
        """Completed tasks still in the tasks table (``greenfield >= now`` with ``completed_at``), to be archived."""
        now = self._clock() if now is None else now
        query = self._greenfield_query(labourer_id, "greenfield >= :now", {":now": _n(now)})
        query["FilterExpression"] = "attribute_exists(completed_at)"
        return self._collect(query, limit)

    def get_task(self, task_id: str) -> Task | None:
        """The task in the tasks table (a consistent read), or ``None``."""
        return self._get(self._tables.tasks, {"task_id": _s(task_id)})

    def locate(self, task_id: str, *, labourer_id: str | None = None, markers: RunMarkers | None = None) -> Location:
        """Where a task is: its state in the tasks table (under ``markers``, default a run starting now with sosw's
        900 + 300 s expiry), the retry table, the closed table, or ``unknown``.

        The retry table is keyed by ``labourer_id`` first, so it is only checked when ``labourer_id`` is given; without
        it a task waiting for retry is reported ``unknown``.
        """
        task = self.get_task(task_id)
        if task is not None:
            state = task.state(markers or self._default_markers(self._clock()))
            return Location(Where(state.value), task)
        return self._locate_outside_queue(task_id, labourer_id)

    # -- running ------------------------------------------------------------------------------------------------------

    def claim(
        self,
        task_id: str,
        labourer_id: str,
        markers: RunMarkers,
        *,
        seen: Task | None = None,
        claim_id: str | None = None,
    ) -> ClaimResult:
        """Claim a queued task for this run: one conditional UpdateItem (``CLAIM_UPDATE`` if ``CLAIM_CONDITION``).

        ``seen`` is the task as the caller read it (the Orchestrator's fetch); without it, it is read first (one
        consistent GetItem more). ``claim_id`` marks the claim (default: a new id): a retry with the same id after a
        lost answer succeeds again instead of failing. ``claimed=False`` when the task is no longer as it was read
        (another run claimed it, it changed, or it is gone): skip it. On success the result carries the pre-claim
        task and the mark.
        """
        seen = seen if seen is not None else self.get_task(task_id)
        if seen is None:
            return ClaimResult(claimed=False, task_id=task_id, invoked=markers.invoked)
        claim_id = claim_id or uuid.uuid4().hex
        try:
            response = self._client.update_item(
                TableName=self._tables.tasks,
                Key={"task_id": _s(task_id)},
                UpdateExpression=CLAIM_UPDATE,
                ConditionExpression=CLAIM_CONDITION,
                ExpressionAttributeValues=claim_values(labourer_id, markers, seen, claim_id),
                ReturnValues="ALL_OLD",
            )
        except ClientError as err:
            if condition_failed(err):
                return ClaimResult(claimed=False, task_id=task_id, invoked=markers.invoked)
            raise
        before = Task.from_item(response["Attributes"])
        if before.greenfield == markers.invoked:  # our own earlier write, found by a retry: as it was before that
            before = seen
        return ClaimResult(claimed=True, task_id=task_id, invoked=markers.invoked, task=before, claim_id=claim_id)

    def release(self, task_id: str, *, previous_greenfield: int | float, previous_attempts: int, claim_id: str) -> bool:
        """Undo claim ``claim_id`` whose event was surely not sent: restore the pre-claim greenfield and attempts, so
        the task is queued again at its place and no attempt is spent (``RELEASE_UPDATE``, as the Orchestrator's
        ``Release`` state).

        Conditional on the claim being ours and the task not completed, or on this very release having been applied
        already (a retry after a lost answer). ``False``: nothing to release (the claim was never applied, or the task
        changed) and nothing was written.
        """
        values = release_values(previous_greenfield, previous_attempts, claim_id)
        return self._conditional_update(task_id, RELEASE_UPDATE, RELEASE_CONDITION, values)

    def _conditional_update(self, task_id: str, update: str, condition: str, values: Item) -> bool:
        """One conditional UpdateItem of a task; ``False`` when its condition failed (nothing written)."""
        try:
            self._client.update_item(
                TableName=self._tables.tasks,
                Key={"task_id": _s(task_id)},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as err:
            if condition_failed(err):
                return False
            raise
        return True

    def mark_completed(
        self,
        task_id: str,
        *,
        stats: Mapping[str, Any] | str | None = None,
        result: Mapping[str, Any] | str | None = None,
        attempt: int | None = None,
        labourer_id: str | None = None,
    ) -> CompletionResult:
        """Record a task's completion: ``completed_at`` plus ``stat_<k>`` / ``result_<k>`` (as sosw's WorkerAssistant).

        Conditional: the task exists, is invoked (``greenfield > now``), is not completed, and, when ``attempt`` is
        given, is on that attempt. Otherwise nothing is written (never a ghost item) and the result says where the
        task is; pass ``labourer_id`` so that a task waiting in the retry table can be recognised too. Stats and a
        result that would take the task past DynamoDB's 400 KB are left out, named in ``foreman_report_cut``: the
        completion itself is recorded (a ``ClientError`` only if not even ``completed_at`` fits).
        """
        now = self._clock()
        fields = {"completed_at": int(now), **_report_fields("stats", stats), **_report_fields("result", result)}
        return self._report(task_id, now, fields, increment="", attempt=attempt, labourer_id=labourer_id)

    def mark_failed(
        self,
        task_id: str,
        *,
        stats: Mapping[str, Any] | str | None = None,
        result: Mapping[str, Any] | str | None = None,
        attempt: int | None = None,
        labourer_id: str | None = None,
    ) -> CompletionResult:
        """Record a failure report: ``failed_attempts += 1``, ``failed_at`` and ``stat_<k>`` / ``result_<k>``.

        Same conditions and results as ``mark_completed``. The task stays invoked; the Scavenger's next run finds it
        (``failed_tasks``) and retries it or closes it as dead without waiting for it to expire.
        """
        now = self._clock()
        fields = {"failed_at": int(now), **_report_fields("stats", stats), **_report_fields("result", result)}
        increment = "failed_attempts = if_not_exists(failed_attempts, :zero) + :one"
        return self._report(task_id, now, fields, increment=increment, attempt=attempt, labourer_id=labourer_id)

    # -- closing the loop ---------------------------------------------------------------------------------------------

    def archive(self, task: Task, *, dead_reason: str | None = None) -> bool:
        """Move a task to the closed table in one transaction: put (``closed_at``, ``labourer_id_task_status`` =
        ``<labourer>_1`` if completed else ``_0``, ``close_reason`` = ``dead_reason`` if given, cut to
        ``closed_record.REASON_CHARS``), delete from tasks.

        With ``closed_ttl_days`` the row also gets ``TTL_ATTRIBUTE``: when DynamoDB's TTL may delete it.

        The closed row never passes DynamoDB's 400 KB: when the task with these attributes would, its largest
        attributes go to part rows of the closed table in the same transaction (``closed_record``), and
        ``closed_item`` reads the task back whole. The delete is conditional on the task being unchanged since
        ``task`` was read (same greenfield and completion state), each put on no row existing under its key.
        ``False``: a condition failed (someone else moved or changed the task); nothing was written.
        """
        item = task.to_item()
        item["closed_at"] = _n(int(self._clock()))
        item["labourer_id_task_status"] = _s(f"{task.labourer_id}_{1 if task.is_completed else 0}")
        if dead_reason:
            item["close_reason"] = _s(bounded_reason(dead_reason))
        if self._closed_ttl_seconds is not None:
            item[TTL_ATTRIBUTE] = _n(int(self._clock()) + self._closed_ttl_seconds)
        record = closed_record(item)
        puts = [
            {
                "Put": {
                    "TableName": self._tables.closed,
                    "Item": row,
                    "ConditionExpression": "attribute_not_exists(task_id)",
                }
            }
            for row in (record.row, *record.parts)
        ]
        return self._transact([*puts, self._delete_unchanged(task)])

    def closed_item(self, task_id: str) -> Item | None:
        """The task as it was closed (consistent reads), every attribute in place even if some were cut to part rows
        (``closed_record.restore``), or ``None`` if the closed table has no row for it."""
        read = self._client.get_item(TableName=self._tables.closed, Key={"task_id": _s(task_id)}, ConsistentRead=True)
        row = read.get("Item")
        if row is None:
            return None
        count = int(row.get(CUT_PARTS, {}).get("N", "0"))
        parts = [
            self._client.get_item(
                TableName=self._tables.closed, Key={"task_id": _s(part_key(task_id, number))}, ConsistentRead=True
            ).get("Item", {})
            for number in range(count)
        ]
        return restore(row, [part for part in parts if part])

    def move_to_retry(self, task: Task, *, delay: float) -> bool:
        """Move an expired task to the retry table, due ``delay`` seconds from now (``desired_launch_time``, whole
        seconds rounded up), in one transaction.

        The delete from tasks is conditional on the task being unchanged since read and not completed, so a
        completion that arrives meanwhile wins (and a completed task is never retried). ``False``: a condition
        failed; nothing was written.
        """
        item = task.to_item()
        item["desired_launch_time"] = _n(math.ceil(self._clock() + delay))
        return self._transact(
            [
                {
                    "Put": {
                        "TableName": self._tables.retry,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(task_id)",
                    }
                },
                self._delete_unchanged(task, unfinished=True),
            ]
        )

    def return_unsent(self, task: Task, *, now: float | None = None) -> bool:
        """Put back at the head of its queue an expired task whose claim may never have been sent (its run did not
        finish, ``lease.FinishedRuns``), without spending the attempt: ``attempts`` goes back by one and the claim's
        mark is removed. One ``Limit=1`` query for the queue's head and one UpdateItem, conditional on the task being
        as read (same greenfield, attempts and mark, not completed). ``False``: it changed meanwhile (a late
        completion wins); nothing was written."""
        now = self._clock() if now is None else now
        (position,) = retry_positions(self._oldest_position(task.labourer_id, now), 1, step=self._step)
        return self._conditional_update(
            task.task_id,
            "SET greenfield = :queued, attempts = :previous_attempts REMOVE foreman_claim",
            "greenfield = :seen AND attempts = :seen_attempts AND foreman_claim = :claim "
            "AND attribute_not_exists(completed_at)",
            {
                ":queued": _n(position),
                ":previous_attempts": _n(max(task.attempts - 1, 0)),
                ":seen": _n(task.stored_greenfield),
                ":seen_attempts": _n(task.attempts),
                ":claim": _s(str(task.attributes.get("foreman_claim", ""))),
            },
        )

    def requeue_due_retries(self, labourer_id: str, *, now: float | None = None, limit: int = 20) -> list[Task]:
        """Move up to ``limit`` due tasks (``desired_launch_time <= now``) from the retry table to the head of the
        labourer's queue, keeping their order: the first due is the first invoked, all ahead of queued tasks.

        Costs one retry-index query, one ``Limit=1`` query for the queue's head and one TransactWriteItems per 50
        tasks, or fewer when large items would pass 4 MB (put into tasks if absent + delete from retry if present).
        A task moved meanwhile by someone else is skipped. Returns the tasks as now queued.
        """
        now = self._clock() if now is None else now
        if limit <= 0:
            return []
        page = self._read(
            "query",
            TableName=self._tables.retry,
            IndexName=self._tables.retry_index,
            KeyConditionExpression="labourer_id = :labourer AND desired_launch_time <= :now",
            ExpressionAttributeValues={":labourer": _s(labourer_id), ":now": _n(now)},
            ScanIndexForward=True,
            Limit=limit,
        )
        due = [Task.from_item(item) for item in page.get("Items", [])]
        if not due:
            return []
        positions = retry_positions(self._oldest_position(labourer_id, now), len(due), step=self._step)
        moves: list[tuple[Task, Item]] = []
        for task, position in zip(due, positions, strict=True):
            item = task.to_item()
            item.pop("desired_launch_time", None)
            item["greenfield"] = _n(position)
            moves.append((task, item))
        moved: list[Task] = []
        for chunk in transaction_batches(moves):
            if self._transact([action for move in chunk for action in self._requeue_actions(*move)]):
                moved.extend(Task.from_item(item) for _, item in chunk)
                continue
            # One of them was moved by someone else: move the others one by one.
            moved.extend(
                Task.from_item(item) for task, item in chunk if self._transact(self._requeue_actions(task, item))
            )
        return moved

    # -- internals ----------------------------------------------------------------------------------------------------

    def _new_task(self, labourer_id: str, text: str, position: int, now: float, *, task_id: str | None = None) -> Task:
        identifier = task_id if task_id is not None else uuid.uuid4().hex
        attributes: dict[str, Any] = {
            "task_id": identifier,
            "labourer_id": labourer_id,
            "created_at": now,
            "greenfield": position,
            "attempts": 0,
            "payload": text,
        }
        return Task(
            task_id=identifier,
            labourer_id=labourer_id,
            greenfield=position,
            attempts=0,
            created_at=now,
            payload_text=text,
            attributes=attributes,
        )

    def _default_markers(self, now: float) -> RunMarkers:
        return RunMarkers.at(now, duration=DEFAULT_DURATION, cooldown=DEFAULT_COOLDOWN, delta=self._delta)

    def _greenfield_query(self, labourer_id: str, condition: str, values: Item) -> dict[str, Any]:
        return {
            "TableName": self._tables.tasks,
            "IndexName": self._tables.greenfield_index,
            "KeyConditionExpression": f"labourer_id = :labourer AND {condition}",
            "ExpressionAttributeValues": {":labourer": _s(labourer_id), **values},
        }

    def _end_position(self, labourer_id: str, now: float, *, newest: bool) -> int | None:
        """The newest (or oldest) queued greenfield below ``now``, or ``None`` for an empty queue. Reads one item."""
        query = self._greenfield_query(labourer_id, "greenfield < :now", {":now": _n(now)})
        page = self._read("query", **query, ScanIndexForward=not newest, Limit=1, ProjectionExpression="greenfield")
        items = page.get("Items", [])
        return int(from_attribute_value(items[0]["greenfield"])) if items else None

    def _newest_position(self, labourer_id: str, now: float) -> int | None:
        return self._end_position(labourer_id, now, newest=True)

    def _oldest_position(self, labourer_id: str, now: float) -> int | None:
        return self._end_position(labourer_id, now, newest=False)

    def _pages(self, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        query = dict(query)
        while True:
            page = self._read("query", **query)
            yield page
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _collect(self, query: dict[str, Any], limit: int | None) -> list[Task]:
        tasks: list[Task] = []
        if limit is not None and limit <= 0:
            return tasks
        for page in self._pages(query):
            tasks.extend(Task.from_item(item) for item in page.get("Items", []))
            if limit is not None and len(tasks) >= limit:
                return tasks[:limit]
        return tasks

    def _read(self, operation: str, **request: Any) -> dict[str, Any]:
        """One read (``query``, ``get_item`` or ``batch_get_item``), its consumed capacity added to ``read_units``."""
        response: dict[str, Any] = getattr(self._client, operation)(**request, ReturnConsumedCapacity="TOTAL")
        consumed = response.get("ConsumedCapacity", {})
        for entry in consumed if isinstance(consumed, list) else [consumed]:  # a batch answers one per table
            self.read_units += float(entry.get("CapacityUnits", 0.0))
        return response

    def _get(self, table: str, key: Item) -> Task | None:
        response = self._read("get_item", TableName=table, Key=key, ConsistentRead=True)
        item = response.get("Item")
        return Task.from_item(item) if item else None

    def _put_new(self, table: str, item: Item, task_id: str) -> None:
        try:
            self._client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(task_id)")
        except ClientError as err:
            if condition_failed(err):
                raise TaskExistsError(f"task {task_id} already exists in {table}; nothing was written") from err
            raise

    def _batch_put(self, table: str, tasks: Sequence[Task]) -> None:
        written = 0
        for offset in range(0, len(tasks), BATCH_WRITE_SIZE):
            chunk = tasks[offset : offset + BATCH_WRITE_SIZE]
            pending: list[dict[str, Any]] = [{"PutRequest": {"Item": task.to_item()}} for task in chunk]
            attempt = 0
            while pending:
                response = self._client.batch_write_item(RequestItems={table: pending})
                unprocessed = response.get("UnprocessedItems", {}).get(table, [])
                written += len(pending) - len(unprocessed)
                pending = list(unprocessed)
                if not pending:
                    break
                attempt += 1
                if attempt >= self._max_write_attempts:
                    unwritten = [from_attribute_value(request["PutRequest"]["Item"]["task_id"]) for request in pending]
                    unwritten += [task.task_id for task in tasks[offset + len(chunk) :]]
                    raise UnprocessedWritesError(written, unwritten)
                # Full jitter on an exponential backoff, as AWS recommends for throttled batch writes.
                self._sleep(random.uniform(0, min(self._max_backoff, 0.05 * 2**attempt)))

    def _transact(self, actions: list[dict[str, Any]]) -> bool:
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as err:
            if _lost_race(err):
                return False
            raise
        return True

    def _delete_unchanged(self, task: Task, *, unfinished: bool = False) -> dict[str, Any]:
        """Delete from tasks if greenfield and completion state are as read (and, if ``unfinished``, not completed)."""
        completed = task.is_completed and not unfinished
        completion = "attribute_exists(completed_at)" if completed else "attribute_not_exists(completed_at)"
        return {
            "Delete": {
                "TableName": self._tables.tasks,
                "Key": {"task_id": _s(task.task_id)},
                "ConditionExpression": f"greenfield = :seen AND {completion}",
                "ExpressionAttributeValues": {":seen": _n(task.stored_greenfield)},
            }
        }

    def _requeue_actions(self, task: Task, item: Item) -> list[dict[str, Any]]:
        return [
            {
                "Put": {
                    "TableName": self._tables.tasks,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(task_id)",
                }
            },
            {
                "Delete": {
                    "TableName": self._tables.retry,
                    "Key": {"labourer_id": _s(task.labourer_id), "task_id": _s(task.task_id)},
                    "ConditionExpression": "attribute_exists(task_id)",
                }
            },
        ]

    def _report(
        self,
        task_id: str,
        now: float,
        fields: Mapping[str, Any],
        *,
        increment: str,
        attempt: int | None,
        labourer_id: str | None,
    ) -> CompletionResult:
        names: dict[str, str] = {}
        values: Item = {":now": _n(now)}
        assignments = [increment] if increment else []
        if increment:
            values.update({":zero": _n(0), ":one": _n(1)})
        # Placeholders for every reported name: stats/result keys are the worker's and may be reserved words.
        for number, (name, value) in enumerate(fields.items()):
            names[f"#f{number}"] = name
            values[f":f{number}"] = to_attribute_value(value)
            assignments.append(f"#f{number} = :f{number}")
        condition = "greenfield > :now AND attribute_not_exists(completed_at)"
        if attempt is not None:
            condition += " AND attempts = :attempt"
            values[":attempt"] = _n(attempt)
        try:
            response = self._client.update_item(
                TableName=self._tables.tasks,
                Key={"task_id": _s(task_id)},
                UpdateExpression="SET " + ", ".join(assignments),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as err:
            reported = [name for name in fields if name.startswith(("stat_", "result_"))]
            if _too_large(err) and reported:
                # The task would pass DynamoDB's 400 KB: record the report itself, without its stats and result
                kept = {name: value for name, value in fields.items() if name not in reported}
                kept[REPORT_CUT] = (
                    f"{', '.join(reported)[:500]} left out: with them the task would pass DynamoDB's item limit"
                )
                return self._report(task_id, now, kept, increment=increment, attempt=attempt, labourer_id=labourer_id)
            if not condition_failed(err):
                raise
            item = err.response.get("Item")
            if item:
                return self._refused_in_queue(Task.from_item(item), now, attempt)
            location = self._locate_outside_queue(task_id, labourer_id)
            return CompletionResult(
                accepted=False,
                task_id=task_id,
                reason=_LATE_REASONS[location.where],
                where=location.where,
                task=location.task,
            )
        task = Task.from_item(response["Attributes"])
        where = Where(task.state(self._default_markers(now)).value)
        return CompletionResult(accepted=True, task_id=task_id, where=where, task=task)

    def _refused_in_queue(self, task: Task, now: float, attempt: int | None) -> CompletionResult:
        where = Where(task.state(self._default_markers(now)).value)
        if not task.labourer_id:
            reason = "unknown task (only a ghost item without labourer_id, left by an unconditional update)"
        elif task.is_completed:
            reason = "late: task already completed"
        elif task.greenfield <= now:
            reason = "late: task is queued again (retried)" if task.attempts else "task is queued and was never invoked"
        elif attempt is not None and task.attempts != attempt:
            reason = f"late: attempt {attempt} reported, but the task is on attempt {task.attempts}"
        else:
            reason = "task changed while the report was written"
        return CompletionResult(accepted=False, task_id=task.task_id, reason=reason, where=where, task=task)

    def _locate_outside_queue(self, task_id: str, labourer_id: str | None) -> Location:
        if labourer_id:
            waiting = self._get(self._tables.retry, {"labourer_id": _s(labourer_id), "task_id": _s(task_id)})
            if waiting is not None:
                return Location(Where.RETRY, waiting)
        closed = self._get(self._tables.closed, {"task_id": _s(task_id)})
        if closed is not None and closed.raw is not None and CUT_PARTS in closed.raw:
            whole = self.closed_item(task_id)  # a task too large for one row: its cut attributes back in place
            closed = Task.from_item(whole) if whole is not None else closed
        if closed is not None:
            status = str(closed.attributes.get("labourer_id_task_status", ""))
            completed = status.endswith("_1") if status else closed.is_completed
            return Location(Where.CLOSED_COMPLETED if completed else Where.CLOSED_DEAD, closed)
        return Location(Where.UNKNOWN)


_LATE_REASONS: dict[Where, str] = {
    Where.RETRY: "late: task is waiting for retry",
    Where.CLOSED_COMPLETED: "late: task is closed (completed)",
    Where.CLOSED_DEAD: "late: task is closed (dead)",
    Where.UNKNOWN: "unknown task",
}
