"""A Standard execution's 25,000-event history limit.

``ExecutionWorker._get_evaluation_environment`` and ``EventManager.add_event``: moto lets an execution's history
grow without end; a Standard execution on AWS fails when it reaches 25,000 events, event 25,000 being its
``ExecutionFailed`` (``States.Runtime``, "The execution reached the maximum number of history events (25000).").
``history_limit`` does the same: the event that would be the 25,000th (other than the execution's end) is dropped,
the execution is failed with that error, and nothing more is recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from foreman.local.patches.express_workflows import machine_type

HISTORY_EVENT_LIMIT = 25_000
"""The most events a Standard execution's history may hold; the last of them is then its failure."""

HISTORY_LIMIT_ERROR = "States.Runtime"


def history_limit_cause(limit: int = HISTORY_EVENT_LIMIT) -> str:
    """AWS's cause of an execution failed at the history limit."""
    return f"The execution reached the maximum number of history events ({limit})."


class _BoundedHistory:
    """One execution's history with AWS's event limit (attached to its EventManager, which its frames share)."""

    _ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})

    def __init__(self, env: Any, limit: int) -> None:
        import threading

        self.env = env
        self.limit = limit
        self.lock = threading.Lock()
        self.reached = False
        self.ended = False
        self.last_id = 0

    def failure(self) -> Any:
        from moto.stepfunctions.parser.api import ExecutionFailedEventDetails

        return ExecutionFailedEventDetails(error=HISTORY_LIMIT_ERROR, cause=history_limit_cause(self.limit))

    def add(self, manager: Any, add_event: Any, event_type: Any, **kwargs: Any) -> int:
        from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

        kind = str(getattr(event_type, "value", event_type))
        with self.lock:
            if self.reached:
                if kind == "ExecutionFailed" and not self.ended:
                    self.ended = True
                    kwargs["event_details"] = EventDetails(executionFailedEventDetails=self.failure())  # type: ignore[typeddict-item]
                    self.last_id = add_event(manager, event_type=event_type, **kwargs)
                return self.last_id  # nothing is recorded after the limit
            if len(manager._history_event_list) < self.limit - 1 or kind in self._ENDS:
                self.last_id = add_event(manager, event_type=event_type, **kwargs)
                return self.last_id
            self.reached = True
        self.env.set_error(self.failure())
        # Whatever fails next (a Map whose iterations were cut) must not replace the execution's error.
        self.env.set_error = lambda error: None
        return self.last_id


@contextmanager
def history_limit(limit: int = HISTORY_EVENT_LIMIT) -> Iterator[None]:
    """Fail an execution whose history reaches ``limit`` events, as Step Functions does (``States.Runtime``)."""
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    make_environment = ExecutionWorker._get_evaluation_environment
    add_event = EventManager.add_event

    def environment(self: Any) -> Any:
        env = make_environment(self)
        if machine_type(self._evaluation_details.state_machine_details.arn) != "EXPRESS":  # Express has no history
            env.event_manager.__dict__["_foreman_history"] = _BoundedHistory(env, limit)
        return env

    def bounded_add_event(self: Any, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
        history = self.__dict__.get("_foreman_history")
        names = ("event_details", "timestamp", "update_source_event_id")
        kwargs = {**dict(zip(names, args, strict=False)), **kwargs, "context": context}
        if history is None:  # not an execution's own history (a distributed Map's child)
            result: int = add_event(self, event_type=event_type, **kwargs)
            return result
        return history.add(self, add_event, event_type, **kwargs)

    with (
        mock.patch.object(ExecutionWorker, "_get_evaluation_environment", environment),
        mock.patch.object(EventManager, "add_event", bounded_add_event),
    ):
        yield


INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker._get_evaluation_environment"),
    ("moto.stepfunctions.parser.asl.eval.event.event_manager", "EventManager.add_event"),
    ("moto.stepfunctions.parser.asl.eval.environment", "Environment.set_error"),
    ("moto.stepfunctions.parser.backend.execution", "Execution.to_history_output"),
)
"""The moto internals this patch reads or replaces (their canary: tests/functional/test_moto_internals.py)."""
