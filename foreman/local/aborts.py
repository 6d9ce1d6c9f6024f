"""StopExecution as Step Functions answers it: the execution is ABORTED at once, and its history ends there.

moto 5.2.5 gets three things wrong about a stopped Standard execution:

- an execution stopped while a Map (inline or distributed) runs ends FAILED with ``States.Runtime``
  (``AttributeError('str' object has no attribute 'get')``): the Map's aborted iterations raise a failure whose
  details are the stop's error *string*, the Map's error handling chokes on it, and ``Environment.set_error``
  replaces the stop with that failure. On AWS the execution is ABORTED, whatever state it was in;
- it drops StopExecution's ``error`` and ``cause`` (``ExecutionAborted`` carries them on AWS, and DescribeExecution
  shows them), answers without ``stopDate``, and stays RUNNING until the task in flight returns;
- events keep coming after the stop (the in-flight task's ``TaskSucceeded``, the iterations' ``MapIterationAborted``),
  where AWS ends the history with ``ExecutionAborted``.

``stopped_executions`` answers as AWS does: the execution is ABORTED when StopExecution returns, with its stop date,
error and cause; its history gets ``ExecutionAborted`` (details ``{}`` when neither error nor cause was given, as
AWS records it) and nothing after it; whatever the interpreter still does in its thread (a Lambda handler already
running finishes, as a Lambda invocation does on AWS) changes nothing that can be read. A failure or timeout met
after the stop does not replace it. The same holds for an execution timed out by ``TimeoutSeconds`` (TIMED_OUT):
nothing is recorded after an execution's last event (moto let the iterations of a timed-out Map add theirs).

``PATCHED_INTERNALS`` names the moto internals this module patches; ``tests/functional/test_moto_internals.py``
checks each still exists.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

PATCHED_INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.parser.asl.eval.environment", "Environment.set_error"),
    ("moto.stepfunctions.parser.asl.eval.environment", "Environment.set_timed_out"),
    ("moto.stepfunctions.parser.asl.eval.program_state", "ProgramStopped"),
    ("moto.stepfunctions.parser.asl.eval.program_state", "ProgramTimedOut"),
    ("moto.stepfunctions.parser.asl.eval.event.event_manager", "EventManager.add_event"),
    ("moto.stepfunctions.parser.backend.execution", "BaseExecutionWorkerCommunication._reflect_execution_status"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.stop_execution"),
)

SEALED = "_foreman_sealed"
"""The key, in an EventManager's ``__dict__``, that marks a history as ended: nothing more is recorded in it."""


def seal(manager: Any) -> None:
    """End a history: every event added to ``manager`` from now on is dropped."""
    manager.__dict__[SEALED] = True


def unseal(manager: Any) -> None:
    """Let a sealed history grow again (a redriven execution's)."""
    manager.__dict__.pop(SEALED, None)


EXECUTION_ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})
"""The events that end an execution's history."""

_stop_lock = threading.RLock()


def abort_execution(execution: Any, error: str | None, cause: str | None) -> datetime.datetime:
    """Stop a running execution of moto's parser backend as StopExecution does on AWS; its stop date."""
    from moto.stepfunctions.parser.api import ExecutionAbortedEventDetails, ExecutionStatus, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    with _stop_lock:
        if execution.exec_status != ExecutionStatus.RUNNING:
            return execution.stop_date or datetime.datetime.now(tz=datetime.UTC)
        stop_date = datetime.datetime.now(tz=datetime.UTC)
        worker = execution.exec_worker
        details: dict[str, str] = {}
        if error:
            details["error"] = error
        if cause:
            details["cause"] = cause
        execution.__dict__["_foreman_aborted"] = True
        execution.exec_status = ExecutionStatus.ABORTED
        execution.stop_date = stop_date
        execution.error = error or None
        execution.cause = cause or None
        env = worker.env if worker is not None else None
        if env is not None:
            env.set_stop(stop_date=stop_date, cause=cause, error=error)
            env.event_history_context.source_event_id = 0
            env.event_manager.add_event(
                context=env.event_history_context,
                event_type=HistoryEventType.ExecutionAborted,
                event_details=EventDetails(executionAbortedEventDetails=ExecutionAbortedEventDetails(**details)),  # type: ignore[typeddict-item]
            )
            seal(env.event_manager)
    for hook in list(execution.__dict__.get("_foreman_on_abort", [])):  # outside the lock: a hook may stop more
        hook(error, cause)
    return stop_date


@contextmanager
def stopped_executions() -> Iterator[None]:
    """StopExecution ends a Standard execution ABORTED at once, with its error, cause and stop date, as AWS does."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped, ProgramTimedOut
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
    from moto.stepfunctions.responses import StepFunctionResponse

    original_set_error = Environment.set_error
    original_set_timed_out = Environment.set_timed_out
    original_add_event = EventManager.add_event
    original_reflect = BaseExecutionWorkerCommunication._reflect_execution_status

    def set_error(self: Any, error: Any) -> None:
        if isinstance(self._program_state, ProgramStopped | ProgramTimedOut):
            return  # a stop or a timeout is how the execution ended, whatever fails after it
        original_set_error(self, error)

    def set_timed_out(self: Any) -> None:
        if isinstance(self._program_state, ProgramStopped):
            return
        original_set_timed_out(self)

    def add_event(self: Any, *args: Any, **kwargs: Any) -> int:
        if self.__dict__.get(SEALED):
            return len(self._history_event_list)
        result: int = original_add_event(self, *args, **kwargs)
        event_type = kwargs.get("event_type", args[1] if len(args) > 1 else None)
        if str(getattr(event_type, "value", event_type)) in EXECUTION_ENDS:
            seal(self)  # on AWS nothing follows an execution's end (iterations still running are cut)
        return result

    def reflect(self: Any) -> None:
        if self.execution.__dict__.get("_foreman_aborted"):
            return  # StopExecution already said how it ended
        original_reflect(self)

    def stop_execution(self: Any) -> Any:
        arn = str(self._get_param("executionArn"))
        execution = self.stepfunction_backend.describe_execution(arn)
        if getattr(execution, "exec_worker", None) is None:  # the plain backend's record
            return original_stop(self)
        stop_date = abort_execution(execution, self._get_param("error"), self._get_param("cause"))
        return ActionResult({"stopDate": stop_date})

    original_stop = StepFunctionResponse.stop_execution
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(Environment, "set_error", set_error))
        stack.enter_context(mock.patch.object(Environment, "set_timed_out", set_timed_out))
        stack.enter_context(mock.patch.object(EventManager, "add_event", add_event))
        stack.enter_context(mock.patch.object(BaseExecutionWorkerCommunication, "_reflect_execution_status", reflect))
        stack.enter_context(mock.patch.object(StepFunctionResponse, "stop_execution", stop_execution))
        yield
