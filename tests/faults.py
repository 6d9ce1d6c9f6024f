"""Fault injection for the reliability suite: make moto's DynamoDB or CloudWatch fail the way AWS can.

Lambda faults live in the local runtime itself (``LambdaRuntime.add_fault``): these cover the other services. Each
is a context manager over one moto backend method; ``when`` picks which calls fail, ``times`` how many (``None``:
all that match). ``Fault.raised`` counts what was injected, so a test can assert the fault really happened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock


@dataclass
class Fault:
    """How many calls were failed on purpose."""

    raised: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, times: int | None) -> bool:
        with self._lock:
            if times is not None and self.raised >= times:
                return False
            self.raised += 1
            return True


@contextmanager
def dynamodb_fault(
    operation: str,
    code: str,
    *,
    when: Callable[..., bool] = lambda *args, **kwargs: True,
    times: int | None = None,
    status: int = 400,
) -> Iterator[Fault]:
    """Fail moto ``DynamoDBBackend.<operation>`` calls matching ``when(*args, **kwargs)`` with DynamoDB error
    ``code`` (e.g. ``ProvisionedThroughputExceededException``), as the service would answer."""
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
    from moto.dynamodb.models import DynamoDBBackend

    fault = Fault()
    original = getattr(DynamoDBBackend, operation)

    def failing(self: Any, *args: Any, **kwargs: Any) -> Any:
        if when(*args, **kwargs) and fault.take(times):
            error = DynamodbException(ERROR_TYPE_PREFIX + code, f"injected fault: {code}")
            error.code = status
            raise error
        return original(self, *args, **kwargs)

    with mock.patch.object(DynamoDBBackend, operation, failing):
        yield fault


def is_claim(*args: Any, **kwargs: Any) -> bool:
    """``when`` for ``update_item``: the Orchestrator's Claim (not a Release, not a completion)."""
    from foreman_core.task_store import CLAIM_UPDATE

    return kwargs.get("update_expression") == CLAIM_UPDATE


@contextmanager
def cloudwatch_fault(error: Callable[[], Exception], *, times: int | None = None) -> Iterator[Fault]:
    """Make moto's ``GetMetricData`` raise ``error()`` (an AWS error, a timeout...)."""
    from moto.cloudwatch.models import CloudWatchBackend

    fault = Fault()
    original = CloudWatchBackend.get_metric_data

    def failing(self: Any, *args: Any, **kwargs: Any) -> Any:
        if fault.take(times):
            raise error()
        return original(self, *args, **kwargs)

    with mock.patch.object(CloudWatchBackend, "get_metric_data", failing):
        yield fault
