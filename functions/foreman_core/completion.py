"""Completion: recording that an invoked task finished or failed, whoever reports it.

Three paths lead here and share this module, so they behave the same:

- the **WorkerAssistant** function, which accepts sosw's WorkerAssistant events unchanged
  (``{"action": "mark_task_as_completed" | "mark_task_as_failed", "task_id": ..., "stats": ..., "result": ...}``,
  ``stats``/``result`` as objects or JSON text), so an existing sosw Worker works when pointed at it
  (``from_worker_assistant_event``);
- the **TaskDestination** function, which takes the records Lambda sends to an asynchronously invoked labourer's
  ``OnSuccess`` / ``OnFailure`` destination, so a labourer needs no code at all (``from_destination_record``);
- the worker helper (``foreman_core.worker``), which a labourer imports.

Every report is conditional (``TaskStore.mark_completed`` / ``mark_failed``): it is written only to a task that is
invoked, not completed, and, when the attempt is known, still on that attempt. A report for an unknown task writes
nothing (sosw's WorkerAssistant created a ghost item); a late report (the task was meanwhile retried, re-queued or
closed) writes nothing and comes back with ``accepted=False`` and the reason, for the caller to log.

A failure report (``mark_task_as_failed``, an ``OnFailure`` record) sets ``failed_at`` and ``failed_attempts``; the
Scavenger then treats the task as expired at its next run (retry after the delay, or dead after ``max_attempts``)
instead of waiting ``duration + cooldown`` for it to expire, which is all a failure report did in sosw.

This module needs only the standard library and botocore (through the task store): it runs inside labourers too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from foreman_core.task_store import CompletionResult, TaskStore

MAX_ERROR_MESSAGE_CHARS = 1000
"""An error message stored with a failure report (``result_error_message``) is cut to this many characters."""

MAX_RESULT_BYTES = 16_384
"""A destination record's ``responsePayload`` is stored as ``result_<k>`` attributes only up to this JSON size
(a DynamoDB item holds 400 KB, and the task's payload is in the same item)."""


class Action(StrEnum):
    """What a report says about a task: sosw's WorkerAssistant action names."""

    COMPLETED = "mark_task_as_completed"
    FAILED = "mark_task_as_failed"


class Source(StrEnum):
    """Which of the three completion paths a report came through (it appears in logs and outcomes)."""

    WORKER_ASSISTANT = "worker_assistant"
    TASK_DESTINATION = "task_destination"
    WORKER = "worker"


class InvalidReportError(ValueError):
    """The event is not a report this path understands (an unknown action, a missing ``task_id``, a record that
    carries no Foreman task). Nothing was written."""


@dataclass(frozen=True)
class CompletionRequest:
    """One report about one task, as every path hands it to ``record``.

    ``attempt`` is the invocation the report is about (the task's ``attempts`` after that invocation's claim); when
    given, a report about an earlier invocation of a task that was retried and invoked again is refused as late.
    ``labourer_id`` lets a late report recognise a task waiting in the retry table.
    """

    action: Action
    task_id: str
    source: Source
    stats: Mapping[str, Any] | str | None = None
    result: Mapping[str, Any] | str | None = None
    attempt: int | None = None
    labourer_id: str | None = None


@dataclass(frozen=True)
class CompletionOutcome:
    """What ``record`` did. ``accepted=False`` means nothing was written; ``reason`` says why (late, unknown...)."""

    action: Action
    task_id: str
    source: Source
    accepted: bool
    reason: str | None = None
    where: str | None = None
    attempt: int | None = None
    labourer_id: str | None = None

    @property
    def late(self) -> bool:
        """Refused because the task had moved on (retried, re-queued, completed or closed) before the report."""
        return not self.accepted and (self.reason or "").startswith("late")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (what the completion functions return)."""
        return {
            "action": self.action.value,
            "task_id": self.task_id,
            "source": self.source.value,
            "accepted": self.accepted,
            "late": self.late,
            "reason": self.reason,
            "where": self.where,
            "attempt": self.attempt,
            "labourer_id": self.labourer_id,
        }


def record(store: TaskStore, request: CompletionRequest) -> CompletionOutcome:
    """Write the report conditionally (see the module docstring). ``InvalidPayloadError`` (a ``stats``/``result``
    that is not a JSON object) means nothing was written."""
    mark = store.mark_completed if request.action is Action.COMPLETED else store.mark_failed
    result: CompletionResult = mark(
        request.task_id,
        stats=request.stats,
        result=request.result,
        attempt=request.attempt,
        labourer_id=request.labourer_id,
    )
    return CompletionOutcome(
        action=request.action,
        task_id=request.task_id,
        source=request.source,
        accepted=result.accepted,
        reason=result.reason,
        where=None if result.where is None else result.where.value,
        attempt=request.attempt,
        labourer_id=request.labourer_id or (result.task.labourer_id if result.task else None) or None,
    )


def record_and_log(store: TaskStore, request: CompletionRequest, logger: Any) -> dict[str, Any]:
    """``record`` the report and log its outcome (``task report recorded`` at INFO, ``task report refused`` at
    WARNING, with the outcome's fields); returns those fields, the completion functions' answer."""
    outcome = record(store, request)
    fields = outcome.to_dict()
    if outcome.accepted:
        logger.info("task report recorded", extra=fields)
    else:
        logger.warning("task report refused", extra=fields)
    return fields


def from_worker_assistant_event(event: Any) -> CompletionRequest:
    """A sosw WorkerAssistant event as a request.

    Accepted as sosw sends it: ``action``, ``task_id`` and optional ``stats`` / ``result`` (objects or JSON text).
    Foreman's own callers may add ``attempt`` (int) and ``labourer_id`` for exact late-report detection; sosw ignores
    both. An unknown action or a missing ``task_id`` raises ``InvalidReportError``, as sosw raised.
    """
    if not isinstance(event, Mapping):
        raise InvalidReportError(f"expected a JSON object event, got {type(event).__name__}")
    action = event.get("action")
    if action not in (Action.COMPLETED.value, Action.FAILED.value):
        raise InvalidReportError(
            f"Action `{action}` is not supported (expected {Action.COMPLETED.value!r} or {Action.FAILED.value!r})"
        )
    task_id = event.get("task_id")
    if not isinstance(task_id, str) or not task_id:
        raise InvalidReportError(f"Missing required parameter `task_id` in event for action `{action}`")
    attempt = event.get("attempt")
    if attempt is not None and (isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1):
        raise InvalidReportError(f"`attempt` must be a positive integer, got {attempt!r}")
    labourer_id = event.get("labourer_id")
    return CompletionRequest(
        action=Action(action),
        task_id=task_id,
        source=Source.WORKER_ASSISTANT,
        stats=event.get("stats"),
        result=event.get("result"),
        attempt=attempt,
        labourer_id=labourer_id if isinstance(labourer_id, str) and labourer_id else None,
    )


def attempt_of(event: Mapping[str, Any]) -> int | None:
    """The attempt a labourer's invocation is, from the event the Orchestrator sent it: sosw's payload contract
    carries the task's ``attempts`` *before* the claim, so this invocation is ``attempts + 1``. ``None`` if the
    event has no usable ``attempts``."""
    attempts = event.get("attempts")
    if isinstance(attempts, bool):
        return None
    if isinstance(attempts, str) and attempts.isdigit():
        attempts = int(attempts)
    if isinstance(attempts, float) and attempts.is_integer():
        attempts = int(attempts)
    if isinstance(attempts, int) and attempts >= 0:
        return attempts + 1
    return None


SUCCESS_CONDITION = "Success"
FAILURE_CONDITIONS = ("RetriesExhausted", "EventAgeExceeded")
"""``requestContext.condition`` of a destination record: success, or the two ways an async invocation fails."""


def from_destination_record(record_: Any) -> CompletionRequest:
    """A Lambda asynchronous-invocation destination record as a request.

    The record (``version``, ``timestamp``, ``requestContext`` {``condition``, ``approximateInvokeCount``...},
    ``requestPayload``, ``responseContext``, ``responsePayload``) says which event the labourer got and how it ended.
    ``Success`` completes the task (a JSON-object ``responsePayload`` up to ``MAX_RESULT_BYTES`` is kept as
    ``result_<k>``); ``RetriesExhausted`` / ``EventAgeExceeded`` fail it, keeping the error type and message. The
    attempt comes from the request payload's ``attempts``, so a record about an earlier invocation is refused as
    late. ``stat_invoke_count`` is Lambda's ``approximateInvokeCount`` (above 1: Lambda retried the labourer).

    ``InvalidReportError`` if the record is not a destination record or its request carries no ``task_id`` (the
    labourer was invoked by something other than an orchestrator).
    """
    if not isinstance(record_, Mapping):
        raise InvalidReportError(f"expected a destination record (a JSON object), got {type(record_).__name__}")
    context = record_.get("requestContext")
    payload = record_.get("requestPayload")
    if not isinstance(context, Mapping) or "condition" not in context:
        raise InvalidReportError("not a Lambda destination record: no requestContext.condition")
    if not isinstance(payload, Mapping) or not isinstance(payload.get("task_id"), str) or not payload["task_id"]:
        raise InvalidReportError("the destination record's requestPayload has no task_id: not an orchestrated task")
    condition = context["condition"]
    response = record_.get("responsePayload")
    stats: dict[str, Any] = {}
    invoke_count = context.get("approximateInvokeCount")
    if isinstance(invoke_count, int) and not isinstance(invoke_count, bool):
        stats["invoke_count"] = invoke_count
    if condition == SUCCESS_CONDITION:
        action = Action.COMPLETED
        result = _small_object(response)
    elif condition in FAILURE_CONDITIONS:
        action = Action.FAILED
        result = {"condition": condition, **_error_of(record_.get("responseContext"), response)}
    else:
        raise InvalidReportError(f"unknown destination condition {condition!r}")
    labourer_id = payload.get("labourer_id")
    return CompletionRequest(
        action=action,
        task_id=payload["task_id"],
        source=Source.TASK_DESTINATION,
        stats=stats or None,
        result=result,
        attempt=attempt_of(payload),
        labourer_id=labourer_id if isinstance(labourer_id, str) and labourer_id else None,
    )


def error_result(error: BaseException) -> dict[str, str]:
    """``result`` fields describing an exception: ``error_type`` (its class name) and ``error_message`` (cut to
    ``MAX_ERROR_MESSAGE_CHARS``)."""
    return {"error_type": type(error).__name__, "error_message": str(error)[:MAX_ERROR_MESSAGE_CHARS]}


def _error_of(response_context: Any, response: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    if isinstance(response_context, Mapping) and isinstance(response_context.get("functionError"), str):
        found["function_error"] = response_context["functionError"]
    if isinstance(response, Mapping):
        if isinstance(response.get("errorType"), str):
            found["error_type"] = response["errorType"]
        if isinstance(response.get("errorMessage"), str):
            found["error_message"] = response["errorMessage"][:MAX_ERROR_MESSAGE_CHARS]
    return found


def _small_object(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    try:
        size = len(json.dumps(value, allow_nan=False).encode())
    except (TypeError, ValueError):
        return None
    return dict(value) if size <= MAX_RESULT_BYTES else None
