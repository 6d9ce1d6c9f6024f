"""Express workflows: the execution reads AWS refuses, and StartSyncExecution.

``StepFunctionResponse`` (``describe_execution``, ``get_execution_history``, ``list_executions``, and
``start_sync_execution``, which moto lacks): an Express execution has no DescribeExecution nor GetExecutionHistory
on AWS (``InvalidArn``: "Resource type not valid in this context: express"), an Express state machine no
ListExecutions, and a Standard one no StartSyncExecution (``StateMachineTypeNotSupported``); moto answers all of
them for either type, and answers StartSyncExecution with 404 "Not yet implemented". ``express_workflows`` refuses
what AWS refuses and runs StartSyncExecution: it starts the execution, waits for its end and answers as AWS does,
with ``billingDetails`` (duration rounded up to 100 ms, memory at the 64 MB minimum). An Express execution has no
25,000-event history either, so ``history_limit`` leaves it alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

EXPRESS_DESCRIBE_ERROR = "Invalid Arn: 'Resource type not valid in this context: express'"
"""AWS's message (``InvalidArn``) for DescribeExecution or GetExecutionHistory on an Express execution."""
TYPE_NOT_SUPPORTED = "This operation is not supported by this type of state machine"
EXPRESS_BILLED_MEMORY_MB = 64
"""Express bills memory in 64 MB steps from the definition and payload sizes; Foreman's stay far below the first."""


def machine_type(state_machine_arn: str) -> str:
    """``STANDARD`` or ``EXPRESS``: the type of a state machine of the in-process moto (``STANDARD`` if unknown)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    parts = state_machine_arn.split(":")
    if len(parts) < 7:
        return "STANDARD"
    backend = stepfunctions_parser_backends[parts[4]][parts[3]]
    for machine in backend.state_machines:
        if machine.arn == state_machine_arn or state_machine_arn.startswith(machine.arn + ":"):
            return str(machine.type)
    return "STANDARD"


def backend_execution(execution_arn: str) -> Any:
    """moto's own record of an execution (status, output, events), whatever its type: for the embedded stack's
    reading of an Express execution, which on AWS is its CloudWatch log at level ALL."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    parts = execution_arn.split(":")
    return stepfunctions_parser_backends[parts[4]][parts[3]].describe_execution(execution_arn)


def express_history(execution_arn: str) -> list[dict[str, Any]] | None:
    """An Express execution's history events (a Map Run's Express child's too), from moto's record: what its log
    group holds on AWS at level ALL. ``None`` when the in-process moto has no such execution."""
    try:
        record = backend_execution(execution_arn)
    except Exception:
        return None
    events = record.to_history_output()["events"]
    # as the API answers them: plain JSON (moto's record holds each event's type as an enum)
    found: list[dict[str, Any]] = json.loads(json.dumps(events, default=str))
    return found


def _type_not_supported() -> Exception:
    """AWS's ``StateMachineTypeNotSupported``."""
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("StateMachineTypeNotSupported", TYPE_NOT_SUPPORTED)


@contextmanager
def express_workflows(poll_seconds: float = 0.01) -> Iterator[None]:
    """Refuse the execution reads AWS refuses for Express, and run StartSyncExecution as AWS does."""
    import json
    import math
    import time

    from moto.stepfunctions.exceptions import InvalidArn
    from moto.stepfunctions.responses import StepFunctionResponse

    def execution_read(original: Any) -> Any:
        def read(self: Any) -> Any:
            arn = str(self._get_param("executionArn"))
            if machine_type(self.stepfunction_backend.describe_execution(arn).state_machine_arn) == "EXPRESS":
                raise InvalidArn(EXPRESS_DESCRIBE_ERROR)
            return original(self)

        return read

    list_executions = StepFunctionResponse.list_executions

    def listing(self: Any) -> Any:
        if machine_type(str(self._get_param("stateMachineArn"))) == "EXPRESS":
            raise _type_not_supported()
        return list_executions(self)

    def start_sync_execution(self: Any) -> Any:
        from moto.core.responses import ActionResult

        arn = str(self._get_param("stateMachineArn"))
        if machine_type(arn) != "EXPRESS":
            raise _type_not_supported()
        began = time.monotonic()
        execution = self.stepfunction_backend.start_execution(
            arn, self._get_param("name"), self._get_param("input", if_none="{}")
        )
        while execution.status == "RUNNING":
            time.sleep(poll_seconds)
        elapsed_ms = (time.monotonic() - began) * 1000
        response: dict[str, Any] = {
            "executionArn": execution.execution_arn,
            "stateMachineArn": arn,
            "name": execution.name,
            "startDate": execution.start_date,
            "stopDate": execution.stop_date,
            "status": execution.status,
            "input": json.dumps(execution.input_data),
            "inputDetails": {"included": True},
            "billingDetails": {
                "billedMemoryUsedInMB": EXPRESS_BILLED_MEMORY_MB,
                "billedDurationInMilliseconds": max(100, math.ceil(elapsed_ms / 100) * 100),
            },
        }
        if execution.status == "SUCCEEDED":
            output = execution.output
            response["output"] = output if isinstance(output, str) else json.dumps(output)
            response["outputDetails"] = {"included": True}
        for key in ("error", "cause"):
            if getattr(execution, key, None) is not None:
                response[key] = getattr(execution, key)
        return ActionResult(response)

    import re

    from moto import backend_index
    from moto.stepfunctions import urls

    sync_host = r"https?://sync-states\.(.+)\.amazonaws.com"  # StartSyncExecution's endpoint prefix on AWS
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(urls, "url_bases", [*urls.url_bases, sync_host]))
        stack.enter_context(
            mock.patch.object(
                backend_index,
                "backend_url_patterns",
                [*backend_index.backend_url_patterns, ("stepfunctions", re.compile(sync_host))],
            )
        )
        for name in ("describe_execution", "get_execution_history"):
            stack.enter_context(
                mock.patch.object(StepFunctionResponse, name, execution_read(getattr(StepFunctionResponse, name)))
            )
        stack.enter_context(mock.patch.object(StepFunctionResponse, "list_executions", listing))
        stack.enter_context(
            mock.patch.object(StepFunctionResponse, "start_sync_execution", start_sync_execution, create=True)
        )
        yield


INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.exceptions", "InvalidArn"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.describe_execution"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.get_execution_history"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.list_executions"),
    ("moto.stepfunctions.parser.models", "stepfunctions_parser_backends"),
    ("moto.stepfunctions.urls", "url_bases"),
    ("moto.backend_index", "backend_url_patterns"),
)
"""The moto internals this patch reads or replaces (their canary: tests/functional/test_moto_internals.py)."""
