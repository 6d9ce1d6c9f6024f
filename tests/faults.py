"""Fault injection for the reliability suite: make moto's DynamoDB or CloudWatch fail the way AWS can.

Lambda faults live in the local runtime itself (``LambdaRuntime.add_fault``): these cover the other services. Each
is a context manager over one moto backend method; ``when`` picks which calls fail, ``times`` how many (``None``:
all that match). ``Fault.raised`` counts what was injected, so a test can assert the fault really happened.
"""

from __future__ import annotations

import inspect
import threading
import time
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
    applied: bool = False,
) -> Iterator[Fault]:
    """Fail moto ``DynamoDBBackend.<operation>`` calls matching ``when(*args, **kwargs)`` with DynamoDB error
    ``code`` (e.g. ``ProvisionedThroughputExceededException``), as the service would answer. ``applied``: the call is
    made (its write applied) and only its answer is the error, as when DynamoDB applied a write and its answer was lost
    (an ``InternalServerError`` after the fact)."""
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
    from moto.dynamodb.models import DynamoDBBackend

    fault = Fault()
    original = getattr(DynamoDBBackend, operation)

    def failing(self: Any, *args: Any, **kwargs: Any) -> Any:
        if when(*args, **kwargs) and fault.take(times):
            if applied:
                original(self, *args, **kwargs)
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


MOTO_QUERY_INDEX_POSITION = 7
"""Where moto 5.2.5's ``Table.query`` takes ``index_name`` among its positional arguments (after ``self``)."""


@contextmanager
def index_lag(seconds: float, *, table: str = "sosw_tasks") -> Iterator[dict[str, float]]:
    """Make ``table``'s global secondary indexes lag its base table by ``seconds``: a Query on an index does not see
    an item updated (UpdateItem) less than ``seconds`` ago, as if the index still held its version from before the
    write (for a claim, a queued task: outside every running count). Base-table reads see every write at once, as
    DynamoDB's strongly consistent reads do. Yields the write times by task id, for the test to inspect."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    moto_query = inspect.unwrap(Table.query)  # the embedded stack wraps it (read units): moto's own, for its signature
    written: dict[str, float] = {}
    update_item = DynamoDBBackend.update_item
    query = Table.query

    def updating(self: Any, table_name: str, key: dict[str, dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        result = update_item(self, table_name, key, *args, **kwargs)
        if table_name == table:
            (value,) = next(iter(key.values())).values()
            written[str(value)] = time.time()
        return result

    parameters = list(inspect.signature(moto_query).parameters)
    index_position = parameters.index("index_name") - 1 if "index_name" in parameters else MOTO_QUERY_INDEX_POSITION

    def querying(self: Any, *args: Any, **kwargs: Any) -> Any:
        items, scanned, last_key = query(self, *args, **kwargs)
        index_name = kwargs.get("index_name", args[index_position] if len(args) > index_position else None)
        if self.name != table or not index_name:
            return items, scanned, last_key
        cutoff = time.time() - seconds
        shown = [item for item in items if written.get(str(item.hash_key.value), 0.0) <= cutoff]
        return shown, scanned, last_key

    with mock.patch.object(DynamoDBBackend, "update_item", updating), mock.patch.object(Table, "query", querying):
        yield written


@contextmanager
def stop_at_state(
    state_name: str,
    *,
    nth: int = 1,
    execution: Callable[[str], bool] = lambda arn: True,
    error: str | None = None,
    cause: str | None = None,
    target: Callable[[str], str] | None = None,
) -> Iterator[Fault]:
    """StopExecution, deterministically, the execution that enters ``state_name`` for the ``nth`` time (counted over
    the executions ``execution(arn)`` picks: a parent, or a Distributed Map's child, whose ARN has ``:express:`` or
    ``/<label>:``), or the one ``target(arn)`` names instead (a child's parent: an operator stopping the run). The
    stop happens as the state is entered, before it runs, as if an operator had stopped the run
    at that moment (``aborts.abort_execution``: ABORTED, ``ExecutionAborted``; a stopped parent stops its children).
    Use inside the embedded stack (``EmbeddedStack`` or ``tests.asl_bench``)."""
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    from foreman.local.aborts import abort_execution

    fault = Fault()
    seen = {"entered": 0}
    original_add, original_environment = EventManager.add_event, ExecutionWorker._get_evaluation_environment

    def environment(self: Any) -> Any:
        env = original_environment(self)
        env.event_manager.__dict__["_fault_execution"] = self._evaluation_details.execution_details.arn
        return env

    def add_event(self: Any, *args: Any, **kwargs: Any) -> int:
        result: int = original_add(self, *args, **kwargs)
        details = kwargs.get("event_details") or {}
        entered = details.get("stateEnteredEventDetails") if isinstance(details, dict) else None
        arn = self.__dict__.get("_fault_execution")
        if entered and entered.get("name") == state_name and arn and execution(arn):
            with fault._lock:
                seen["entered"] += 1
                hit = seen["entered"] == nth
            if hit and fault.take(1):
                stopped = target(arn) if target is not None else arn
                parts = stopped.split(":")
                backend = stepfunctions_parser_backends[parts[4]][parts[3]]
                abort_execution(backend.describe_execution(stopped), error, cause)
        return result

    with (
        mock.patch.object(ExecutionWorker, "_get_evaluation_environment", environment),
        mock.patch.object(EventManager, "add_event", add_event),
    ):
        yield fault
