"""RedriveExecution for Standard executions, as Step Functions does it (moto 5.2.5 has no RedriveExecution).

A FAILED, ABORTED or TIMED_OUT Standard execution restarts, under the same ARN and with the same history, from the
top-level state that did not succeed, with the input that state had; the states before it are not run again.
The history gets ``ExecutionRedriven`` (``redriveCount``) and goes on; the context object has
``$$.Execution.RedriveCount`` (0 until a redrive) and, once redriven, ``$$.Execution.RedriveTime``; DescribeExecution
answers ``redriveCount``, ``redriveStatus`` (``REDRIVABLE`` / ``NOT_REDRIVABLE``) and ``redriveDate``. A running or
succeeded execution, an Express one, or one that reached the history limit answers ``ExecutionNotRedrivable``.

Coarser than AWS, and said so: a Map state that failed runs again *whole* (every iteration, and a Distributed Map
starts a new Map Run with every item), where AWS re-runs only the unsuccessful iterations or child executions and
keeps the others' results. A redriven run therefore does at least what AWS's would: a guard that keeps a redriven run
from claiming anything holds here as there, but a test cannot count on successful iterations being skipped.

``PATCHED_INTERNALS`` names the moto internals this module patches; ``tests/functional/test_redrive.py`` checks each.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

PATCHED_INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker._execution_logic"),
    ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker._get_evaluation_environment"),
    ("moto.stepfunctions.parser.backend.execution", "Execution._get_start_execution_worker"),
    ("moto.core.exceptions", "JsonRESTError"),
    ("moto.stepfunctions.parser.api", "ExecutionRedrivenEventDetails"),
    ("moto.stepfunctions.parser.api", "HistoryEventType.ExecutionRedriven"),
    ("moto.stepfunctions.parser.asl.parse.asl_parser", "AmazonStateLanguageParser.parse"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.describe_execution"),
)

REDRIVABLE = frozenset({"FAILED", "ABORTED", "TIMED_OUT"})


def _status(execution: Any) -> str:
    status = execution.exec_status
    return str(status.value if hasattr(status, "value") else status)


def unsuccessful_state(execution: Any) -> tuple[str, Any]:
    """The top-level state an execution did not get past, and the input it had (from the execution's history)."""
    top_level = set(json.loads(execution.state_machine.definition)["States"])
    open_states: dict[str, Any] = {}
    last: str | None = None
    for event in execution.exec_worker.env.event_manager.get_event_history():
        entered = event.get("stateEnteredEventDetails")
        exited = event.get("stateExitedEventDetails")
        if entered and entered["name"] in top_level:
            open_states[entered["name"]] = json.loads(entered.get("input") or "{}")
            last = entered["name"]
        elif exited and exited["name"] in top_level:
            open_states.pop(exited["name"], None)
    if last is None or last not in open_states:
        start = json.loads(execution.state_machine.definition)["StartAt"]
        return start, execution.input_data
    return last, open_states[last]


def _not_redrivable(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ExecutionNotRedrivable", message)  # moto's own ExecutionNotRedrivable answers no code


def redrive(execution: Any) -> datetime.datetime:
    """Restart a FAILED, ABORTED or TIMED_OUT Standard execution from its unsuccessful state; the redrive date."""
    from moto.stepfunctions.parser.api import ExecutionStatus

    from foreman.local.aborts import unseal

    status = _status(execution)
    if str(execution.sm_type) != "STANDARD" and getattr(execution.sm_type, "value", None) != "STANDARD":
        raise _not_redrivable(f"Execution {execution.exec_arn} is an EXPRESS execution and cannot be redriven")
    if status not in REDRIVABLE:
        raise _not_redrivable(f"Execution is {status} and cannot be redriven")
    old_env = execution.exec_worker.env
    bounded = old_env.event_manager.__dict__.get("_foreman_history")
    if bounded is not None and bounded.reached:
        raise _not_redrivable("Execution reached the maximum number of history events and cannot be redriven")
    state_name, state_input = unsuccessful_state(execution)
    count = execution.__dict__.get("_foreman_redrive_count", 0) + 1
    moment = datetime.datetime.now(tz=datetime.UTC)
    execution.__dict__.update(_foreman_redrive_count=count, _foreman_redrive_date=moment)
    execution.__dict__.pop("_foreman_aborted", None)
    unseal(old_env.event_manager)
    worker = execution._get_start_execution_worker()
    worker.__dict__["_foreman_redrive"] = (old_env, state_name, state_input, count, moment)
    execution.exec_worker = worker
    execution.exec_status = ExecutionStatus.RUNNING
    execution.stop_date = None
    execution.error = None
    execution.cause = None
    execution.output = None
    worker.start()
    return moment


@contextmanager
def redrivable_executions() -> Iterator[None]:
    """RedriveExecution, the redrive fields of DescribeExecution and ``$$.Execution.RedriveCount``, as on AWS."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.api import ExecutionRedrivenEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
    from moto.stepfunctions.responses import StepFunctionResponse

    original_environment = ExecutionWorker._get_evaluation_environment
    original_logic = ExecutionWorker._execution_logic
    original_describe = StepFunctionResponse.describe_execution

    def environment(self: Any) -> Any:
        env = original_environment(self)
        redriven = self.__dict__.get("_foreman_redrive")
        execution_data: dict[str, Any] = env.states.context_object.context_object_data["Execution"]  # type: ignore[assignment]
        execution_data["RedriveCount"] = redriven[3] if redriven else 0
        if redriven:
            execution_data["RedriveTime"] = redriven[4].strftime("%Y-%m-%dT%H:%M:%S.") + (
                f"{redriven[4].microsecond // 1000:03d}Z"
            )
        return env

    def execution_logic(self: Any) -> None:
        redriven = self.__dict__.get("_foreman_redrive")
        if redriven is None:
            original_logic(self)
            return
        old_env, state_name, state_input, count, _ = redriven
        definition = json.loads(self._evaluation_details.state_machine_details.definition)
        definition["StartAt"] = state_name
        program = AmazonStateLanguageParser.parse(json.dumps(definition))[0]
        env = self._get_evaluation_environment()
        bounded = old_env.event_manager.__dict__.get("_foreman_history")
        if bounded is not None:
            bounded.env = env  # the history's limit now fails the redriven run
        env.event_manager = old_env.event_manager  # one history, its event ids going on
        env.states.reset(input_value=state_input)
        self.env = env
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=HistoryEventType.ExecutionRedriven,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                executionRedrivenEventDetails=ExecutionRedrivenEventDetails(redriveCount=count)
            ),
            update_source_event_id=False,
        )
        program.eval(env)
        self._execution_communication.terminated()

    def describe_execution(self: Any) -> Any:
        result: Any = original_describe(self)
        execution = self.stepfunction_backend.describe_execution(str(self._get_param("executionArn")))
        if getattr(execution, "exec_worker", None) is None:
            return result
        status = _status(execution)
        result.result["redriveCount"] = execution.__dict__.get("_foreman_redrive_count", 0)
        if "_foreman_redrive_date" in execution.__dict__:
            result.result["redriveDate"] = execution.__dict__["_foreman_redrive_date"]
        if getattr(execution, "map_run_arn", ""):
            result.result["redriveStatus"] = "REDRIVABLE_BY_MAP_RUN" if status in REDRIVABLE else "NOT_REDRIVABLE"
        else:
            redrivable = status in REDRIVABLE and "STANDARD" in str(execution.sm_type)
            result.result["redriveStatus"] = "REDRIVABLE" if redrivable else "NOT_REDRIVABLE"
            if not redrivable:
                result.result["redriveStatusReason"] = f"Execution is {status} and cannot be redriven"
        return result

    def redrive_execution(self: Any) -> Any:
        execution = self.stepfunction_backend.describe_execution(str(self._get_param("executionArn")))
        if getattr(execution, "exec_worker", None) is None:
            raise _not_redrivable("Execution cannot be redriven")
        return ActionResult({"redriveDate": redrive(execution)})

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(ExecutionWorker, "_get_evaluation_environment", environment))
        stack.enter_context(mock.patch.object(ExecutionWorker, "_execution_logic", execution_logic))
        stack.enter_context(mock.patch.object(StepFunctionResponse, "describe_execution", describe_execution))
        stack.enter_context(
            mock.patch.object(StepFunctionResponse, "redrive_execution", redrive_execution, create=True)
        )
        yield
