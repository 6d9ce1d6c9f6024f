"""``States.Runtime`` as AWS reports it: path and intrinsic failures no catcher takes.

``ExecutionState._from_error`` (and every override), ``Function.eval`` and ``ErrorEqualsDecl._eval_body``: on AWS a
JSONPath that matches nothing (in Parameters, ResultSelector, ItemSelector, InputPath/OutputPath) or a failed
intrinsic function (``States.StringToJson`` on text that is not JSON) is ``States.Runtime``: the execution fails,
and no Retry or Catch takes it, not even ``States.ALL``; nor does ``States.ALL`` take ``States.DataLimitExceeded``.
moto reports both as the task's own service error (``DynamoDB.AmazonDynamoDBException``), which the state's retriers
and catchers then take, so a path that kills every run on AWS passed locally. ``strict_runtime_errors`` reports them
as AWS does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock


class StatesRuntimeError(Exception):
    """An intrinsic function failed while a state's input or output was being built (AWS: ``States.Runtime``)."""


UNCATCHABLE_BY_STATES_ALL = ("States.Runtime", "States.DataLimitExceeded")
"""Errors that ``States.ALL`` does not match on AWS. ``States.Runtime`` matches nothing at all: it always fails the
execution; ``States.DataLimitExceeded`` is taken only by a catcher or retrier that names it."""


@contextmanager
def strict_runtime_errors() -> Iterator[None]:
    """Report path and intrinsic failures as ``States.Runtime`` and let no catcher take them, as AWS does."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.intrinsic.function.function import Function
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.parse import preprocessor  # noqa: F401 - imports every state class
    from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

    runtime = StatesErrorNameType.StatesRuntime

    def intrinsic_eval(self: Any, env: Any) -> None:
        try:
            original_function_eval(self, env)
        except (FailureEventException, StatesRuntimeError):
            raise
        except Exception as error:  # any failure of an intrinsic is States.Runtime on AWS
            raise StatesRuntimeError(f"The evaluation of an intrinsic function failed: {error}") from error

    def runtime_failure(env: Any, error: Exception) -> Any:
        return FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=runtime),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                taskFailedEventDetails=TaskFailedEventDetails(error=runtime.to_name(), cause=str(error))
            ),
        )

    def strict(original: Any) -> Any:
        def from_error(self: Any, env: Any, ex: Exception) -> Any:
            if isinstance(ex, NoSuchJsonPathError | StatesRuntimeError):
                return runtime_failure(env, ex)
            return original(self, env, ex)

        return from_error

    original_matches = ErrorEqualsDecl._eval_body

    def matches(self: Any, env: Any) -> None:
        error_name = env.stack[-1]
        name = error_name.error_name if hasattr(error_name, "error_name") else str(error_name)
        if name == runtime.to_name():
            env.stack.pop()
            env.stack.append(False)
            return
        if name in UNCATCHABLE_BY_STATES_ALL and not any(
            getattr(candidate, "error_name", None) == name for candidate in self.error_names
        ):
            env.stack.pop()
            env.stack.append(False)
            return
        original_matches(self, env)

    original_function_eval = Function.eval
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(Function, "eval", intrinsic_eval))
        stack.enter_context(mock.patch.object(ErrorEqualsDecl, "_eval_body", matches))
        for cls in _subclasses(ExecutionState):
            if "_from_error" in cls.__dict__:
                stack.enter_context(mock.patch.object(cls, "_from_error", strict(cls.__dict__["_from_error"])))
        yield


def _subclasses(cls: type) -> list[type]:
    found: list[type] = [cls]
    for sub in cls.__subclasses__():  # type: ignore[var-annotated]
        found.extend(_subclasses(sub))
    return found


INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.parser.asl.component.state.exec.execute_state", "ExecutionState._from_error"),
    ("moto.stepfunctions.parser.asl.component.intrinsic.function.function", "Function.eval"),
    ("moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl", "ErrorEqualsDecl._eval_body"),
    ("moto.stepfunctions.parser.asl.utils.json_path", "NoSuchJsonPathError"),
    (
        "moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type",
        "StatesErrorNameType.StatesRuntime",
    ),
)
"""The moto internals this patch reads or replaces (their canary: tests/functional/test_moto_internals.py)."""
