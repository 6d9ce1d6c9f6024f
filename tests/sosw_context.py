"""Running sosw 0.7.51's own classes outside Lambda: they read a Lambda context from ``sosw.app``'s globals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

from sosw import app as sosw_app

from foreman.local.deployer import ACCOUNT, REGION


@contextmanager
def sosw_lambda_context(function_name: str) -> Iterator[SimpleNamespace]:
    """Give sosw the context a Lambda function named ``function_name`` would (its MetaHandler and WorkerAssistant
    read ``function_name``, ``aws_request_id`` and ``log_stream_name``), and take it away afterwards."""
    context = SimpleNamespace(
        function_name=function_name,
        aws_request_id="00000000-0000-0000-0000-000000000000",
        log_stream_name="local",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}",
    )
    sosw_app.global_vars.lambda_context = context
    try:
        yield context
    finally:
        sosw_app.global_vars.lambda_context = None
