"""Counting AWS API calls: every call any botocore client in this process makes, by ``service.Operation``.

While ``ApiMeter.measure()`` is active, ``botocore.client.BaseClient._make_api_call`` (the one method every
low-level client and every resource, paginator and waiter goes through, once per API call, whatever session made
the client) is wrapped. That covers the clients created by moto's Step Functions interpreter for the state
machine's service integrations, by the Lambda handlers running in-process, and by sosw. A call is counted when it
got an answer from the service, including an error answer (e.g. a lost conditional claim); a call that botocore
refused before sending (parameter validation) is not.

The harness's own calls (setup, polling the execution, reading its history) are left out: mark its clients with
``mark_harness``. Calls are split into *per-task* calls (the claim, an ``UpdateItem`` on the tasks table, and the
``Invoke`` of a labourer) and *control-plane* calls (everything else). ``items_read`` adds up ``ScannedCount`` of
every Query and Scan answer: the items DynamoDB read (and bills) to answer them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from foreman_core.lease import LEASE_KEY

HARNESS_ATTRIBUTE = "_foreman_benchmark_harness"
"""Set on a client object to leave its calls out of every count."""

READ_OPERATIONS = frozenset({"Query", "Scan"})
"""The DynamoDB operations whose ``ScannedCount`` is added to ``items_read``."""


def mark_harness(client: Any) -> Any:
    """Leave ``client``'s calls out of every count (the benchmark's own set-up, polling and history reads)."""
    setattr(client, HARNESS_ATTRIBUTE, True)
    return client


def function_name(name_or_arn: str) -> str:
    """A Lambda function's name from its name, partial ARN or ARN (``arn:aws:lambda:r:a:function:NAME[:alias]``)."""
    parts = name_or_arn.split(":")
    if len(parts) >= 7 and parts[0] == "arn":
        return parts[6]
    if len(parts) >= 3 and parts[1] == "function":  # partial ARN: account:function:name
        return parts[2]
    return parts[0]


@dataclass
class CallLog:
    """The API calls of one measured window.

    ``calls``: every counted call by ``service.Operation``; ``task_calls``: the per-task ones among them (claims and
    labourer invokes); ``errors``: calls answered with an error, by ``service.Operation:ErrorCode``;
    ``items_read``: the sum of ``ScannedCount`` over Query and Scan answers.
    """

    calls: Counter[str] = field(default_factory=Counter)
    task_calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    items_read: int = 0

    @property
    def total(self) -> int:
        """Every counted call."""
        return sum(self.calls.values())

    @property
    def task_total(self) -> int:
        """The per-task calls (claims and labourer invokes)."""
        return sum(self.task_calls.values())

    @property
    def control_total(self) -> int:
        """Every call that is not a per-task call."""
        return self.total - self.task_total

    @property
    def control_calls(self) -> Counter[str]:
        """The control-plane calls by operation."""
        return self.calls - self.task_calls


class ApiMeter:
    """Counts the AWS API calls made in this process inside ``measure()`` blocks.

    ``task_functions`` are the labourers (names or ARNs): an ``Invoke`` of one of them is a per-task call.
    ``tasks_table``: an ``UpdateItem`` on this table is a per-task call (the claim, or the release of a claim).
    Only one ``measure()`` block may be active at a time; calls from every thread are counted.
    """

    def __init__(self, *, task_functions: Iterable[str] = (), tasks_table: str | None = "sosw_tasks") -> None:
        self.task_functions = frozenset(function_name(name) for name in task_functions)
        self.tasks_table = tasks_table
        self._lock = threading.Lock()

    def is_task_call(self, service: str, operation: str, params: Mapping[str, Any]) -> bool:
        """Whether a call is a per-task call: a claim (``UpdateItem`` on the tasks table, but of the Orchestrator
        lease's item, which lives there: a per-run call) or a labourer ``Invoke``."""
        if service == "dynamodb" and operation == "UpdateItem":
            lease_item = params.get("Key", {}).get("task_id", {}).get("S") == LEASE_KEY
            return self.tasks_table is not None and params.get("TableName") == self.tasks_table and not lease_item
        if service == "lambda" and operation in {"Invoke", "InvokeAsync"}:
            return function_name(str(params.get("FunctionName", ""))) in self.task_functions
        return False

    def record(
        self,
        log: CallLog,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        *,
        response: Mapping[str, Any] | None = None,
        error_code: str | None = None,
    ) -> None:
        """Add one call (its answer, or the error code it was answered with) to ``log``."""
        key = f"{service}.{operation}"
        task = self.is_task_call(service, operation, params)
        scanned = int(response.get("ScannedCount", 0)) if response and operation in READ_OPERATIONS else 0
        with self._lock:
            log.calls[key] += 1
            if task:
                log.task_calls[key] += 1
            if error_code is not None:
                log.errors[f"{key}:{error_code}"] += 1
            log.items_read += scanned

    @contextmanager
    def measure(self) -> Iterator[CallLog]:
        """Count every API call made (by any client, in any thread) until the block ends, into the yielded log."""
        log = CallLog()
        original = BaseClient._make_api_call
        meter = self

        def counted(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            if getattr(client, HARNESS_ATTRIBUTE, False):
                return original(client, operation_name, api_params)
            service = client.meta.service_model.service_name
            try:
                response = original(client, operation_name, api_params)
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", "Unknown"))
                meter.record(log, service, operation_name, api_params, error_code=code)
                raise
            meter.record(log, service, operation_name, api_params, response=response)
            return response

        if getattr(BaseClient._make_api_call, "_foreman_benchmark_meter", False):
            raise RuntimeError("another ApiMeter.measure() block is already active")
        counted._foreman_benchmark_meter = True  # type: ignore[attr-defined]
        with mock.patch.object(BaseClient, "_make_api_call", counted):
            yield log
