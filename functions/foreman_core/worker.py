"""The helper a labourer imports to report its task's completion or failure (completion path 3 of 3).

Inside a labourer Lambda it needs only boto3 and this package (``foreman_core``: copy ``functions/foreman_core`` into
the labourer's bundle). Decorate the handler::

    from foreman_core.worker import reports_completion

    @reports_completion
    def handler(event, context):
        ...  # return normally: the task is completed; raise: the task is failed (and the exception re-raised)

or call ``complete(event, stats=..., result=...)`` / ``fail(event, error=...)`` yourself. ``event`` is the event the
Orchestrator invoked the labourer with (sosw's contract: ``task_id``, ``labourer_id`` and the pre-claim ``attempts``
at the top level), or just a ``task_id``. With the event, a report about an invocation that has since been retried
is refused as late instead of completing the newer attempt.

Where reports go is read from the labourer's environment (``Reporter.from_environment``):

- ``FOREMAN_WORKER_ASSISTANT`` = the WorkerAssistant function's ARN (stack output ``WorkerAssistantFunctionArn``):
  each report is one synchronous invoke of it. IAM: ``lambda:InvokeFunction`` on that ARN (the stack's
  ``LabourerPolicy`` grants it).
- otherwise ``FOREMAN_TASKS_TABLE`` (+ optional ``FOREMAN_CLOSED_TASKS_TABLE``, ``FOREMAN_RETRY_TASKS_TABLE``; sosw's
  table names by default): each report is one conditional UpdateItem on the tasks table, plus one or two GetItem
  only when it is refused, to say where the task is. IAM: ``dynamodb:UpdateItem`` on the tasks table and
  ``dynamodb:GetItem`` on the closed and retry tables.

A report refused as late or unknown is not an error: it is logged (WARNING) and returned with ``accepted=False``. A
report that cannot be delivered (AWS error, WorkerAssistant failure) raises ``ReportError`` from ``complete``/``fail``;
the decorator logs it and never lets it replace the handler's own result or exception.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from foreman_core.completion import (
    Action,
    CompletionOutcome,
    CompletionRequest,
    Source,
    attempt_of,
    error_result,
    record,
)
from foreman_core.config import Tables
from foreman_core.task_store import TaskStore

WORKER_ASSISTANT_ENV = "FOREMAN_WORKER_ASSISTANT"
TASKS_TABLE_ENV = "FOREMAN_TASKS_TABLE"
CLOSED_TASKS_TABLE_ENV = "FOREMAN_CLOSED_TASKS_TABLE"
RETRY_TASKS_TABLE_ENV = "FOREMAN_RETRY_TASKS_TABLE"

logger = logging.getLogger("foreman.worker")

TaskRef = Mapping[str, Any] | str
"""The event the labourer was invoked with, or a bare ``task_id``."""

F = TypeVar("F", bound=Callable[..., Any])


class ReportError(RuntimeError):
    """A report could not be delivered (an AWS error, or the WorkerAssistant failed). Nothing is known written."""


@dataclass(frozen=True)
class Report:
    """The answer to one report. ``accepted=False``: nothing was written, ``reason`` says why (late, unknown...)."""

    action: str
    task_id: str
    accepted: bool
    reason: str | None = None
    where: str | None = None

    @property
    def late(self) -> bool:
        """Refused because the task had moved on (retried, re-queued, completed or closed)."""
        return not self.accepted and (self.reason or "").startswith("late")


class Reporter:
    """Sends reports either through the WorkerAssistant function (``worker_assistant`` = its name or ARN) or straight
    to DynamoDB (``tables``). Give exactly one. ``client`` is the boto3 client to use (lambda or dynamodb; created
    on first use otherwise); ``clock`` is "now" for direct DynamoDB reports (tests)."""

    def __init__(
        self,
        *,
        worker_assistant: str | None = None,
        tables: Tables | None = None,
        client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (worker_assistant is None) == (tables is None):
            raise ValueError("give exactly one of worker_assistant (a function ARN) or tables (direct DynamoDB)")
        self.worker_assistant = worker_assistant
        self.tables = tables
        self._client = client
        self._clock = clock
        self._store: TaskStore | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Reporter:
        """A reporter configured by ``FOREMAN_WORKER_ASSISTANT`` or ``FOREMAN_TASKS_TABLE`` (see the module
        docstring). ``ValueError`` naming both variables if neither is set."""
        env = os.environ if environ is None else environ
        if env.get(WORKER_ASSISTANT_ENV):
            return cls(worker_assistant=env[WORKER_ASSISTANT_ENV])
        if env.get(TASKS_TABLE_ENV):
            defaults = Tables()
            return cls(
                tables=Tables(
                    tasks=env[TASKS_TABLE_ENV],
                    closed=env.get(CLOSED_TASKS_TABLE_ENV) or defaults.closed,
                    retry=env.get(RETRY_TASKS_TABLE_ENV) or defaults.retry,
                )
            )
        raise ValueError(
            f"set {WORKER_ASSISTANT_ENV} (the WorkerAssistant function ARN) or {TASKS_TABLE_ENV} (the tasks table) "
            "in the labourer's environment"
        )

    def complete(
        self,
        task: TaskRef,
        *,
        stats: Mapping[str, Any] | None = None,
        result: Mapping[str, Any] | None = None,
    ) -> Report:
        """Report the task completed (``completed_at``, ``stat_<k>``, ``result_<k>``)."""
        return self._send(Action.COMPLETED, task, stats, result)

    def fail(
        self,
        task: TaskRef,
        *,
        stats: Mapping[str, Any] | None = None,
        result: Mapping[str, Any] | None = None,
        error: BaseException | None = None,
    ) -> Report:
        """Report the task failed (``failed_at``, ``failed_attempts += 1``; ``error`` adds ``result_error_type`` and
        ``result_error_message``). The Scavenger retries it, or closes it as dead, at its next run."""
        merged = {**(error_result(error) if error is not None else {}), **(result or {})}
        return self._send(Action.FAILED, task, stats, merged or None)

    def _send(
        self, action: Action, task: TaskRef, stats: Mapping[str, Any] | None, result: Mapping[str, Any] | None
    ) -> Report:
        task_id, attempt, labourer_id = _identify(task)
        if self.worker_assistant is not None:
            report = self._invoke(action, task_id, attempt=attempt, labourer_id=labourer_id, stats=stats, result=result)
        else:
            request = CompletionRequest(
                action=action,
                task_id=task_id,
                source=Source.WORKER,
                stats=stats,
                result=result,
                attempt=attempt,
                labourer_id=labourer_id,
            )
            try:
                outcome = record(self._task_store(), request)
            except Exception as error:
                raise ReportError(f"{action.value} for task {task_id} failed: {error}") from error
            report = _report_of(outcome)
        if not report.accepted:
            logger.warning("task report refused: %s", report.reason, extra={"task_id": task_id, "action": action.value})
        return report

    def _invoke(
        self,
        action: Action,
        task_id: str,
        *,
        attempt: int | None,
        labourer_id: str | None,
        stats: Mapping[str, Any] | None,
        result: Mapping[str, Any] | None,
    ) -> Report:
        event: dict[str, Any] = {"action": action.value, "task_id": task_id}
        if stats:
            event["stats"] = dict(stats)
        if result:
            event["result"] = dict(result)
        if attempt is not None:
            event["attempt"] = attempt
        if labourer_id:
            event["labourer_id"] = labourer_id
        try:
            response = self._lambda().invoke(
                FunctionName=self.worker_assistant, InvocationType="RequestResponse", Payload=json.dumps(event)
            )
            body = response["Payload"].read()
        except Exception as error:
            raise ReportError(
                f"{action.value} for task {task_id}: invoking the WorkerAssistant failed: {error}"
            ) from error
        answer = json.loads(body) if body else None
        if response.get("FunctionError") or not isinstance(answer, Mapping):
            raise ReportError(f"{action.value} for task {task_id}: the WorkerAssistant failed: {answer}")
        return Report(
            action=action.value,
            task_id=task_id,
            accepted=bool(answer.get("accepted")),
            reason=answer.get("reason"),
            where=answer.get("where"),
        )

    def _lambda(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("lambda")
        return self._client

    def _task_store(self) -> TaskStore:
        if self._store is None:
            assert self.tables is not None
            if self._client is None:
                import boto3

                self._client = boto3.client("dynamodb")
            self._store = TaskStore(self._client, self.tables, clock=self._clock)
        return self._store


_default: Reporter | None = None
_default_lock = threading.Lock()


def default_reporter() -> Reporter:
    """The reporter built from the environment on first use, then reused while the container is warm."""
    global _default  # noqa: PLW0603 - one reporter (and its boto3 client) per warm container
    with _default_lock:
        if _default is None:
            _default = Reporter.from_environment()
        return _default


def complete(
    task: TaskRef,
    *,
    stats: Mapping[str, Any] | None = None,
    result: Mapping[str, Any] | None = None,
    reporter: Reporter | None = None,
) -> Report:
    """Report ``task`` completed through ``reporter`` (default: ``default_reporter()``)."""
    return (reporter or default_reporter()).complete(task, stats=stats, result=result)


def fail(
    task: TaskRef,
    *,
    stats: Mapping[str, Any] | None = None,
    result: Mapping[str, Any] | None = None,
    error: BaseException | None = None,
    reporter: Reporter | None = None,
) -> Report:
    """Report ``task`` failed through ``reporter`` (default: ``default_reporter()``)."""
    return (reporter or default_reporter()).fail(task, stats=stats, result=result, error=error)


@overload
def reports_completion(handler: F) -> F: ...


@overload
def reports_completion(
    handler: None = None, *, reporter: Reporter | None = None, reraise: bool = True
) -> Callable[[F], F]: ...


def reports_completion(
    handler: F | None = None, *, reporter: Reporter | None = None, reraise: bool = True
) -> F | Callable[[F], F]:
    """Decorate a labourer's ``handler(event, context)``: a normal return reports the task completed, an exception
    reports it failed (with the exception's type and message) and is then re-raised (``reraise=False``: swallowed,
    the handler returns ``None``).

    Only events with a ``task_id`` are reported (others pass through untouched). A report that is refused or cannot
    be delivered is logged, never raised: the handler's outcome is what Lambda sees. Keep the labourer's async
    ``MaximumRetryAttempts`` at 0, or Lambda runs a failed task again by itself (sosw issue #108).
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(event: Any, context: Any) -> Any:
            orchestrated = isinstance(event, Mapping) and bool(event.get("task_id"))
            try:
                value = fn(event, context)
            except Exception as error:
                if orchestrated:
                    _deliver(functools.partial(fail, event, error=error, reporter=reporter))
                if reraise:
                    raise
                return None
            if orchestrated:
                _deliver(functools.partial(complete, event, reporter=reporter))
            return value

        return wrapper  # type: ignore[return-value]

    return decorate(handler) if handler is not None else decorate


def _deliver(send: Callable[[], Report]) -> None:
    try:
        send()
    except Exception:
        logger.exception("could not report the task's outcome; it will expire and be retried by the Scavenger")


def _identify(task: TaskRef) -> tuple[str, int | None, str | None]:
    if isinstance(task, str):
        if not task:
            raise ValueError("task_id must be a non-empty string")
        return task, None, None
    task_id = task.get("task_id")
    if not isinstance(task_id, str) or not task_id:
        raise ValueError(f"the event has no task_id: {dict(task)!r}")
    labourer_id = task.get("labourer_id")
    return task_id, attempt_of(task), labourer_id if isinstance(labourer_id, str) and labourer_id else None


def _report_of(outcome: CompletionOutcome) -> Report:
    return Report(
        action=outcome.action.value,
        task_id=outcome.task_id,
        accepted=outcome.accepted,
        reason=outcome.reason,
        where=outcome.where,
    )
