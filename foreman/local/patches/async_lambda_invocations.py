"""``InvocationType`` passed through the interpreter's ``lambda:invoke``, as AWS does.

``state_task_service_lambda._SUPPORTED_API_PARAM_BINDINGS``: moto's ``arn:aws:states:::lambda:invoke`` drops
``InvocationType`` (it is not in moto's list of invoke parameters, though AWS takes it), so every labourer invoke
would be synchronous and a labourer's own error would fail the Invoke state; ``async_lambda_invocations`` lets it
through, so ``InvocationType: Event`` is asynchronous as on AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock


@contextmanager
def async_lambda_invocations() -> Iterator[None]:
    """Pass ``InvocationType`` through the interpreter's ``lambda:invoke`` integration, as AWS does."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_lambda

    bindings = state_task_service_lambda._SUPPORTED_API_PARAM_BINDINGS
    with mock.patch.dict(bindings, {"invoke": {*bindings["invoke"], "InvocationType"}}):
        yield


INTERNALS: tuple[tuple[str, str], ...] = (
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda",
        "_SUPPORTED_API_PARAM_BINDINGS",
    ),
)
"""The moto internals this patch reads or replaces (their canary: tests/functional/test_moto_internals.py)."""
