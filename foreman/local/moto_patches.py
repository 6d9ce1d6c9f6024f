"""The few moto 5.2.5 internals the embedded stack patches, in one place.

moto is pinned (``moto==5.2.5``) because these are not public API. ``PATCHED_INTERNALS`` names every one of them;
``tests/functional/test_moto_internals.py`` imports each and fails loudly if an upgrade moved it.

- ``LambdaSimpleBackend.invoke``: run real handlers (``lambda_runtime.py``).
- ``StepFunctionsParserBackend.start_execution``: moto names every unnamed execution ``None``, so a second unnamed
  StartExecution fails with ``ExecutionAlreadyExists``; give it a UUID, as AWS does. It also accepts any name, where
  AWS refuses names with spaces and other characters (``InvalidName``); refuse them as AWS does
  (``foreman.execution_names``).
- ``boto_client_for`` where the interpreter calls Lambda and DynamoDB: it builds a new boto3 client for every task
  state (most of a task's local cost); ``reused_clients`` builds one per service, region and endpoint.
- ``DynamoDBBackend`` operations: moto checks a ConditionExpression and then writes, with nothing in between to
  stop another thread; DynamoDB applies a conditional write atomically. ``atomic_dynamodb`` serializes them, so two
  executions racing for one claim behave as on AWS (exactly one wins).
- ``EvalComponent.heap_key``: a state's retry counter lives in the iteration's heap under a key that moto creates
  lazily, without a lock; two Map iterations reaching a Retry at once could each create a key, and one of them then
  lost its count and retried once more than ``MaxAttempts``. ``stable_heap_keys`` creates each key once.
- ``retrier_decl.time`` and ``WaitFunction._wait_interval``: skip real sleeps in Retry and Wait states, for tests
  and the accelerated demo.
- ``state_task_service_lambda._SUPPORTED_API_PARAM_BINDINGS``: moto's ``arn:aws:states:::lambda:invoke`` drops
  ``InvocationType`` (it is not in moto's list of invoke parameters, though AWS takes it), so every labourer invoke
  would be synchronous and a labourer's own error would fail the Invoke state; ``async_lambda_invocations`` lets it
  through, so ``InvocationType: Event`` is asynchronous as on AWS.
- ``EventInvokeConfig`` (read, not patched): ``lambda_runtime.event_invoke_config`` reads a function's asynchronous
  invocation config (retries, destinations) from ``LambdaFunction.event_invoke_config``, a list of these.
"""

from __future__ import annotations

import importlib
import types
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

DYNAMODB_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "get_item",
    "batch_get_item",
    "query",
    "scan",
)
"""moto's DynamoDB backend methods that ``atomic_dynamodb`` serializes."""

PATCHED_INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.parser.asl.component.eval_component", "EvalComponent.heap_key"),
    *(("moto.dynamodb.models", f"DynamoDBBackend.{name}") for name in DYNAMODB_OPERATIONS),
    ("moto.awslambda_simple.models", "LambdaSimpleBackend.invoke"),
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.start_execution"),
    ("moto.stepfunctions.exceptions", "InvalidName"),
    ("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl", "time"),
    ("moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function", "WaitFunction._wait_interval"),
    ("moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils", "boto_client_for"),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
        "boto_client_for",
    ),
    ("moto.core.config", "default_user_config"),
    ("moto.awslambda.models", "EventInvokeConfig"),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda",
        "_SUPPORTED_API_PARAM_BINDINGS",
    ),
)


def resolve_internal(module: str, attribute: str) -> Any:
    """Import ``module`` and walk the dotted ``attribute``; AttributeError/ImportError if moto moved it."""
    target: Any = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


@contextmanager
def named_executions() -> Iterator[None]:
    """Give unnamed executions a UUID name and refuse a name AWS refuses (``InvalidName``), as AWS does."""
    from moto.stepfunctions.exceptions import InvalidName
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    from foreman.execution_names import execution_name_problem

    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        problem = execution_name_problem(name) if name is not None else None
        if problem is not None:
            raise InvalidName(f"Invalid Name: '{name}' ({problem})")
        return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    with mock.patch.object(StepFunctionsParserBackend, "start_execution", start_execution):
        yield


@contextmanager
def async_lambda_invocations() -> Iterator[None]:
    """Pass ``InvocationType`` through the interpreter's ``lambda:invoke`` integration, as AWS does."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_lambda

    bindings = state_task_service_lambda._SUPPORTED_API_PARAM_BINDINGS
    with mock.patch.dict(bindings, {"invoke": {*bindings["invoke"], "InvocationType"}}):
        yield


@contextmanager
def no_waits() -> Iterator[None]:
    """Skip the sleeps of Retry intervals and Wait states (the count of retries is unchanged)."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    def skip_wait(self: Any, env: Any, wait_seconds: int) -> None:
        return None

    with (
        mock.patch.object(retrier_decl, "time", types.SimpleNamespace(sleep=lambda seconds: None)),
        mock.patch.object(WaitFunction, "_wait_interval", skip_wait),
    ):
        yield


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


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    """Make each moto DynamoDB operation atomic with respect to the others, as DynamoDB's own are."""
    import functools
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()

    def serialized(method: Any) -> Any:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        return call

    with ExitStack() as stack:
        for name in DYNAMODB_OPERATIONS:
            stack.enter_context(mock.patch.object(DynamoDBBackend, name, serialized(getattr(DynamoDBBackend, name))))
        yield


@contextmanager
def stable_heap_keys() -> Iterator[None]:
    """Create each interpreter component's heap key exactly once, even when Map iterations race to it."""
    import threading

    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    original = EvalComponent.__dict__["heap_key"]
    lock = threading.Lock()

    def heap_key(self: Any) -> str:
        if self.__dict__.get("_EvalComponent__heap_key") is None:
            with lock:
                key: str = original.fget(self)  # creates it, once: the others wait and then find it
                return key
        existing: str = original.fget(self)
        return existing

    with mock.patch.object(EvalComponent, "heap_key", property(heap_key)):
        yield
