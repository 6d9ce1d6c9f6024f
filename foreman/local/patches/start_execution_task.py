"""The ``arn:aws:states:::states:startExecution`` task as AWS runs it.

A Task state with that resource takes ``StateMachineArn``, ``Name``, ``Input`` (and ``TraceHeader``) and returns
``{"ExecutionArn": ..., "StartDate": ...}``. moto 5.2.5 hands the state's parameters to boto3 as they are written in
the ASL (``StateMachineArn=...``), which boto3's Step Functions client does not know (it names them
``stateMachineArn``, ...): the task fails with ``States.Runtime`` and the cause ``'StateMachineArn'``. This patch calls
the API with boto3's names and answers with AWS's (``ExecutionArn``, ``StartDate`` as an ISO 8601 timestamp in UTC
with milliseconds). Errors keep their names (``StepFunctions.ExecutionAlreadyExistsException``, ...), as moto maps
them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

INTERNALS = (
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn",
        "StateTaskServiceSfn._eval_service_task",
    ),
)

BOTO_NAMES = {"StateMachineArn": "stateMachineArn", "Name": "name", "Input": "input", "TraceHeader": "traceHeader"}
"""The task's parameters (ASL) by the names boto3's Step Functions client gives them."""


def aws_answer(response: dict[str, Any]) -> dict[str, Any]:
    """boto3's StartExecution response as the task returns it: ``ExecutionArn`` and ``StartDate``."""
    started = response.get("startDate")
    if isinstance(started, datetime):
        moment = started.astimezone(UTC)
        started = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return {"ExecutionArn": response["executionArn"], "StartDate": started}


@contextmanager
def start_execution_task() -> Iterator[None]:
    """Run ``states:startExecution`` tasks with boto3's parameter names and AWS's answer (see the module)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sfn as sfn

    original = sfn.StateTaskServiceSfn._eval_service_task

    def eval_service_task(
        self: Any, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> Any:
        if self._get_boto_service_action() != "start_execution":
            return original(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        client = sfn.boto_client_for(
            region=resource_runtime_part.region, service="stepfunctions", state_credentials=state_credentials
        )
        arguments = {BOTO_NAMES.get(key, key): value for key, value in normalised_parameters.items()}
        env.stack.append(aws_answer(client.start_execution(**arguments)))
        return None

    with mock.patch.object(sfn.StateTaskServiceSfn, "_eval_service_task", eval_service_task):
        yield
