"""One boto3 client per service for the interpreter's task states, not one per task.

``boto_client_for`` where the interpreter calls Lambda and DynamoDB: it builds a new boto3 client for every task
state (most of a task's local cost); ``reused_clients`` builds one per service, region and endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock


@contextmanager
def reused_clients() -> Iterator[None]:
    """Let the interpreter's Lambda and DynamoDB task states reuse one boto3 client per (region, service, endpoint)
    instead of building one per task. boto3 clients are safe to share between threads."""
    import threading

    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_dynamodb
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    cache: dict[tuple[str, str, bool, str], Any] = {}
    lock = threading.Lock()

    def cached(region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port

        key = (region, service, bool(botocore_stubber.enabled), moto_server_port())
        with lock:
            if key not in cache:
                cache[key] = original(region, service, state_credentials)
            return cache[key]

    with (
        mock.patch.object(lambda_eval_utils, "boto_client_for", cached),
        mock.patch.object(state_task_service_dynamodb, "boto_client_for", cached),
    ):
        yield


INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils", "boto_client_for"),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
        "boto_client_for",
    ),
)
"""The moto internals this patch reads or replaces (their canary: tests/functional/test_moto_internals.py)."""
