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
- ``ExecutionState._from_error`` (and every override), ``Function.eval`` and ``ErrorEqualsDecl._eval_body``: on AWS a
  JSONPath that matches nothing (in Parameters, ResultSelector, ItemSelector, InputPath/OutputPath) or a failed
  intrinsic function (``States.StringToJson`` on text that is not JSON) is ``States.Runtime``: the execution fails,
  and no Retry or Catch takes it, not even ``States.ALL``; nor does ``States.ALL`` take ``States.DataLimitExceeded``.
  moto reports both as the task's own service error (``DynamoDB.AmazonDynamoDBException``), which the state's
  retriers and catchers then take, so a path that kills every run on AWS passed locally. ``strict_runtime_errors``
  reports them as AWS does.
- ``DynamoDBBackend.transact_write_items`` (again, for size): moto accepts a transaction of any size; DynamoDB refuses
  one whose items add up to more than 4 MB with ``ValidationException``. ``transaction_size_limit`` refuses it too,
  counting a Put as its item and a Delete, Update or ConditionCheck as the stored item it touches (moto's own
  ``Item.size()``), so a batch that would fail on AWS fails here.
- ``SimpleSystemManagerBackend.put_parameter``: moto stores an SSM parameter value of any length, in whatever tier it
  is given (``Intelligent-Tiering`` kept as such); Parameter Store refuses a value over 4,096 characters in the
  Standard tier and over 8,192 in the Advanced tier (``ValidationException``), and with ``Intelligent-Tiering``
  makes the parameter Advanced only when its value is over 4,096 characters. ``ssm_parameter_size_limit`` does
  the same, so a config too large for SSM fails here as it would on AWS.
- ``ExecutionWorker._get_evaluation_environment`` and ``EventManager.add_event``: moto lets an execution's history
  grow without end; a Standard execution on AWS fails when it reaches 25,000 events, event 25,000 being its
  ``ExecutionFailed`` (``States.Runtime``, "The execution reached the maximum number of history events (25000).").
  ``history_limit`` does the same: the event that would be the 25,000th (other than the execution's end) is dropped,
  the execution is failed with that error, and nothing more is recorded.
- ``StepFunctionResponse`` (``describe_execution``, ``get_execution_history``, ``list_executions``, and
  ``start_sync_execution``, which moto lacks): an Express execution has no DescribeExecution nor
  GetExecutionHistory on AWS (``InvalidArn``: "Resource type not valid in this context: express"), an Express state
  machine no ListExecutions, and a Standard one no StartSyncExecution (``StateMachineTypeNotSupported``); moto
  answers all of them for either type, and answers StartSyncExecution with 404 "Not yet implemented".
  ``express_workflows`` refuses what AWS refuses and runs StartSyncExecution: it starts the execution, waits for its
  end and answers as AWS does, with ``billingDetails`` (duration rounded up to 100 ms, memory at the 64 MB minimum).
  An Express execution has no 25,000-event history either, so ``history_limit`` leaves it alone.
- ``Table.query``, ``Table.scan``, ``Table.get_item`` and ``DynamoHandler.query`` / ``scan`` / ``get_item`` /
  ``batch_get_item``: moto answers ``ReturnConsumedCapacity`` with a constant (1.0 per Query or Scan, whatever it
  read); DynamoDB charges for the sizes of the items it read, before any filter or projection, rounded up to 4 KB,
  half for an eventually consistent read. ``consumed_read_capacity`` answers what DynamoDB charges, so a run's
  reported read units (``TaskStore.read_units``) mean on the embedded stack what they mean on AWS.
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
    ("moto.stepfunctions.exceptions", "InvalidArn"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.describe_execution"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.get_execution_history"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.list_executions"),
    ("moto.stepfunctions.parser.models", "stepfunctions_parser_backends"),
    ("moto.stepfunctions.urls", "url_bases"),
    ("moto.backend_index", "backend_url_patterns"),
    ("moto.stepfunctions.parser.backend.execution", "Execution.to_history_output"),
    ("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl", "time"),
    ("moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function", "WaitFunction._wait_interval"),
    ("moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils", "boto_client_for"),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
        "boto_client_for",
    ),
    ("moto.core.config", "default_user_config"),
    ("moto.awslambda.models", "EventInvokeConfig"),
    ("moto.stepfunctions.parser.asl.component.state.exec.execute_state", "ExecutionState._from_error"),
    ("moto.stepfunctions.parser.asl.component.intrinsic.function.function", "Function.eval"),
    ("moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl", "ErrorEqualsDecl._eval_body"),
    ("moto.stepfunctions.parser.asl.utils.json_path", "NoSuchJsonPathError"),
    (
        "moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type",
        "StatesErrorNameType.StatesRuntime",
    ),
    ("moto.dynamodb.models.dynamo_type", "DynamoType.size"),
    ("moto.dynamodb.models.dynamo_type", "Item.size"),
    ("moto.dynamodb.exceptions", "MockValidationException"),
    ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker._get_evaluation_environment"),
    ("moto.stepfunctions.parser.asl.eval.event.event_manager", "EventManager.add_event"),
    ("moto.stepfunctions.parser.asl.eval.environment", "Environment.set_error"),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda",
        "_SUPPORTED_API_PARAM_BINDINGS",
    ),
    *(("moto.dynamodb.models.table", f"Table.{name}") for name in ("query", "scan", "get_item")),
    *(("moto.dynamodb.responses", f"DynamoHandler.{name}") for name in ("query", "scan", "get_item", "batch_get_item")),
    ("moto.dynamodb.models.dynamo_type", "DynamoType.to_regular_json"),
    ("moto.ssm.models", "SimpleSystemManagerBackend.put_parameter"),
    ("moto.ssm.exceptions", "ValidationException"),
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


class StatesRuntimeError(Exception):
    """An intrinsic function failed while a state's input or output was being built (AWS: ``States.Runtime``)."""


UNCATCHABLE_BY_STATES_ALL = ("States.Runtime", "States.DataLimitExceeded")
"""Errors that ``States.ALL`` does not match on AWS. ``States.Runtime`` matches nothing at all: it always fails the
execution; ``States.DataLimitExceeded`` is taken only by a catcher or retrier that names it."""


@contextmanager
def strict_runtime_errors() -> Iterator[None]:
    """Report path and intrinsic failures as ``States.Runtime`` and let no catcher take them, as AWS does."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.intrinsic.function.function import Function
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.parse import preprocessor  # noqa: F401 - imports every state class
    from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

    runtime = StatesErrorNameType.StatesRuntime

    def intrinsic_eval(self: Any, env: Any) -> None:
        try:
            original_function_eval(self, env)
        except (FailureEventException, StatesRuntimeError):
            raise
        except Exception as error:  # any failure of an intrinsic is States.Runtime on AWS
            raise StatesRuntimeError(f"The evaluation of an intrinsic function failed: {error}") from error

    def runtime_failure(env: Any, error: Exception) -> Any:
        return FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=runtime),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                taskFailedEventDetails=TaskFailedEventDetails(error=runtime.to_name(), cause=str(error))
            ),
        )

    def strict(original: Any) -> Any:
        def from_error(self: Any, env: Any, ex: Exception) -> Any:
            if isinstance(ex, NoSuchJsonPathError | StatesRuntimeError):
                return runtime_failure(env, ex)
            return original(self, env, ex)

        return from_error

    original_matches = ErrorEqualsDecl._eval_body

    def matches(self: Any, env: Any) -> None:
        error_name = env.stack[-1]
        name = error_name.error_name if hasattr(error_name, "error_name") else str(error_name)
        if name == runtime.to_name():
            env.stack.pop()
            env.stack.append(False)
            return
        if name in UNCATCHABLE_BY_STATES_ALL and not any(
            getattr(candidate, "error_name", None) == name for candidate in self.error_names
        ):
            env.stack.pop()
            env.stack.append(False)
            return
        original_matches(self, env)

    original_function_eval = Function.eval
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(Function, "eval", intrinsic_eval))
        stack.enter_context(mock.patch.object(ErrorEqualsDecl, "_eval_body", matches))
        for cls in _subclasses(ExecutionState):
            if "_from_error" in cls.__dict__:
                stack.enter_context(mock.patch.object(cls, "_from_error", strict(cls.__dict__["_from_error"])))
        yield


def _subclasses(cls: type) -> list[type]:
    found: list[type] = [cls]
    for sub in cls.__subclasses__():  # type: ignore[var-annotated]
        found.extend(_subclasses(sub))
    return found


TRANSACTION_LIMIT_BYTES = 4 * 1024 * 1024
"""DynamoDB's limit on the items of one TransactWriteItems (4 MB)."""

TRANSACTION_TOO_LARGE = "Transaction request cannot be larger than 4 MB"
"""DynamoDB's message for a transaction over the limit (a ``ValidationException``)."""


def transaction_bytes(backend: Any, transact_items: list[dict[str, Any]]) -> int:
    """The size of a transaction's items as moto measures items: a Put's item, the stored item of the others."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    total = 0
    for action in transact_items:
        ((kind, operation),) = action.items()
        if kind == "Put":
            total += sum(len(name.encode()) + DynamoType(value).size() for name, value in operation["Item"].items())
            continue
        stored = backend.get_item(operation["TableName"], operation["Key"])
        total += stored.size() if stored is not None else 0
    return total


@contextmanager
def transaction_size_limit() -> Iterator[None]:
    """Refuse a TransactWriteItems whose items add up to more than 4 MB, as DynamoDB does."""
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if transaction_bytes(self, transact_items) > TRANSACTION_LIMIT_BYTES:
            raise MockValidationException(TRANSACTION_TOO_LARGE)
        original(self, transact_items)

    with mock.patch.object(DynamoDBBackend, "transact_write_items", transact_write_items):
        yield


SSM_VALUE_LIMITS = {"Standard": 4096, "Advanced": 8192}
"""The longest SSM parameter value of each tier, in characters."""

SSM_STANDARD_TOO_LONG = (
    "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter "
    "value, upgrade the parameter to use the advanced-parameter tier. For more information, see "
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
)
"""Parameter Store's message (a ``ValidationException``) for a Standard parameter value over 4,096 characters."""

SSM_ADVANCED_TOO_LONG = "Advanced tier parameters support a maximum parameter value of 8192 characters."
"""The message for an Advanced parameter value over 8,192 characters (worded as the Standard tier's)."""


def ssm_tier(requested: str | None, previous: str | None, default: str, value: str) -> str:
    """The tier Parameter Store gives a parameter: the one requested, else the parameter's own, else the account's
    default; ``Intelligent-Tiering`` is Advanced when the value is over 4,096 characters or the parameter already
    is Advanced (a parameter never goes back to Standard), Standard otherwise."""
    tier = requested or previous or default
    if tier == "Intelligent-Tiering":
        return "Advanced" if len(value) > SSM_VALUE_LIMITS["Standard"] or previous == "Advanced" else "Standard"
    return tier


@contextmanager
def ssm_parameter_size_limit() -> Iterator[None]:
    """Refuse an SSM parameter value longer than its tier holds, and resolve ``Intelligent-Tiering``, as AWS does."""
    from moto.ssm.exceptions import ValidationException
    from moto.ssm.models import SimpleSystemManagerBackend

    original = SimpleSystemManagerBackend.put_parameter

    def put_parameter(self: Any, name: str, description: str, value: str, *args: Any, **kwargs: Any) -> Any:
        # moto's ParameterDict finds a name through __getitem__/__contains__ only (its .get misses it)
        versions = self._parameters[name] if name in self._parameters else []  # noqa: SIM401
        previous = versions[-1].tier if versions else None
        tier = ssm_tier(kwargs.get("tier"), previous, self.default_parameter_tier, value or "")
        if value and len(value) > SSM_VALUE_LIMITS.get(tier, SSM_VALUE_LIMITS["Advanced"]):
            raise ValidationException(SSM_STANDARD_TOO_LONG if tier == "Standard" else SSM_ADVANCED_TOO_LONG)
        return original(self, name, description, value, *args, **{**kwargs, "tier": tier})

    with mock.patch.object(SimpleSystemManagerBackend, "put_parameter", put_parameter):
        yield


HISTORY_EVENT_LIMIT = 25_000
"""The most events a Standard execution's history may hold; the last of them is then its failure."""

HISTORY_LIMIT_ERROR = "States.Runtime"


def history_limit_cause(limit: int = HISTORY_EVENT_LIMIT) -> str:
    """AWS's cause of an execution failed at the history limit."""
    return f"The execution reached the maximum number of history events ({limit})."


class _BoundedHistory:
    """One execution's history with AWS's event limit (attached to its EventManager, which its frames share)."""

    _ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})

    def __init__(self, env: Any, limit: int) -> None:
        import threading

        self.env = env
        self.limit = limit
        self.lock = threading.Lock()
        self.reached = False
        self.ended = False
        self.last_id = 0

    def failure(self) -> Any:
        from moto.stepfunctions.parser.api import ExecutionFailedEventDetails

        return ExecutionFailedEventDetails(error=HISTORY_LIMIT_ERROR, cause=history_limit_cause(self.limit))

    def add(self, manager: Any, add_event: Any, event_type: Any, **kwargs: Any) -> int:
        from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

        kind = str(getattr(event_type, "value", event_type))
        with self.lock:
            if self.reached:
                if kind == "ExecutionFailed" and not self.ended:
                    self.ended = True
                    kwargs["event_details"] = EventDetails(executionFailedEventDetails=self.failure())  # type: ignore[typeddict-item]
                    self.last_id = add_event(manager, event_type=event_type, **kwargs)
                return self.last_id  # nothing is recorded after the limit
            if len(manager._history_event_list) < self.limit - 1 or kind in self._ENDS:
                self.last_id = add_event(manager, event_type=event_type, **kwargs)
                return self.last_id
            self.reached = True
        self.env.set_error(self.failure())
        # Whatever fails next (a Map whose iterations were cut) must not replace the execution's error.
        self.env.set_error = lambda error: None
        return self.last_id


@contextmanager
def history_limit(limit: int = HISTORY_EVENT_LIMIT) -> Iterator[None]:
    """Fail an execution whose history reaches ``limit`` events, as Step Functions does (``States.Runtime``)."""
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    make_environment = ExecutionWorker._get_evaluation_environment
    add_event = EventManager.add_event

    def environment(self: Any) -> Any:
        env = make_environment(self)
        if machine_type(self._evaluation_details.state_machine_details.arn) != "EXPRESS":  # Express has no history
            env.event_manager.__dict__["_foreman_history"] = _BoundedHistory(env, limit)
        return env

    def bounded_add_event(self: Any, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
        history = self.__dict__.get("_foreman_history")
        names = ("event_details", "timestamp", "update_source_event_id")
        kwargs = {**dict(zip(names, args, strict=False)), **kwargs, "context": context}
        if history is None:  # not an execution's own history (a distributed Map's child)
            result: int = add_event(self, event_type=event_type, **kwargs)
            return result
        return history.add(self, add_event, event_type, **kwargs)

    with (
        mock.patch.object(ExecutionWorker, "_get_evaluation_environment", environment),
        mock.patch.object(EventManager, "add_event", bounded_add_event),
    ):
        yield


# ---- Express workflows: what AWS refuses, and StartSyncExecution --------------------------------------------------

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


# ---- Read capacity: what DynamoDB charges for a read, from the sizes of the items it read -------------------------

READ_UNIT_BYTES = 4096
"""One read unit reads up to 4 KB strongly consistent (half a unit eventually consistent)."""


def read_units(total_bytes: int, *, consistent: bool) -> float:
    """What one read request (or one item of a BatchGetItem) of ``total_bytes`` costs: rounded up to 4 KB, at least
    one 4 KB block (a read that finds nothing still costs it), halved for an eventually consistent read."""
    blocks = max(1, -(-total_bytes // READ_UNIT_BYTES))
    return float(blocks) if consistent else blocks / 2


def stored_item_bytes(item: Any) -> int:
    """The size of one of moto's stored items as DynamoDB counts it (``foreman_core.item_size.item_bytes``)."""
    from foreman_core.item_size import item_bytes

    return item_bytes({name: value.to_regular_json() for name, value in item.attrs.items()})


def _consumed(
    table: str, units: float, *, mode: str, index: str | None = None, index_kind: str = "GlobalSecondaryIndexes"
) -> dict[str, Any]:
    """A ``ConsumedCapacity`` as DynamoDB answers it for ``ReturnConsumedCapacity`` ``TOTAL`` or ``INDEXES``."""
    consumed: dict[str, Any] = {"TableName": table, "CapacityUnits": units, "ReadCapacityUnits": units}
    if mode == "INDEXES":
        part = {"CapacityUnits": units, "ReadCapacityUnits": units}
        if index is None:
            consumed["Table"] = part
        else:
            consumed["Table"] = {"CapacityUnits": 0.0, "ReadCapacityUnits": 0.0}
            consumed[index_kind] = {index: part}
    return consumed


@contextmanager
def consumed_read_capacity() -> Iterator[None]:
    """Answer ``ReturnConsumedCapacity`` on reads with the units DynamoDB charges, as AWS does.

    moto answers a constant (1.0 for Query and Scan, 0.5 for GetItem, the number of keys for BatchGetItem), whatever
    was read. DynamoDB charges for the items it read: a Query or Scan sums the sizes of every item its key condition
    (and ``Limit``) made it read, before ``FilterExpression``, whatever ``ProjectionExpression`` or ``Select: COUNT``
    returns, and rounds the sum up to 4 KB; GetItem and each item of a BatchGetItem are rounded up one by one. A read
    that finds nothing costs one 4 KB block. Eventually consistent reads (the default, and every read of a global
    secondary index) cost half. On an index the item read is its index entry (moto's ``project`` of the index).
    Writes keep moto's answer.
    """
    import functools
    import inspect
    import threading

    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    meter = threading.local()  # (table, bytes) of every item read by the request being answered on this thread

    def record(table: str, item: Any) -> None:
        sizes = getattr(meter, "sizes", None)
        if sizes is not None:
            sizes.append((table, stored_item_bytes(item) if item is not None else 0))

    original_query, original_scan, original_get = Table.query, Table.scan, Table.get_item
    query_signature, scan_signature = inspect.signature(original_query), inspect.signature(original_scan)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = query_signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        extra = arguments.pop("filter_kwargs", {})
        filter_expression, projection = arguments["filter_expression"], arguments["projection_expressions"]
        arguments.update(filter_expression=None, projection_expressions=None)
        read, scanned, last_key = original_query(**arguments, **extra)
        for item in read:
            record(self.name, item)
        return _filtered(read, filter_expression, projection), scanned, last_key

    def scan(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = scan_signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        filter_expression, projection = arguments["filter_expression"], arguments["projection_expression"]
        arguments.update(filter_expression=None, projection_expression=None)
        read, scanned, last_key = original_scan(**arguments)
        for item in read:
            record(self.name, item)
        return _filtered(read, filter_expression, projection), scanned, last_key

    def get_item(self: Any, hash_key: Any, range_key: Any = None, projection_expression: Any = None) -> Any:
        item = original_get(self, hash_key, range_key)
        record(self.name, item)
        return item.project(projection_expression) if projection_expression and item else item

    def metered(name: str) -> Any:
        original = getattr(DynamoHandler, name)

        @functools.wraps(original)
        def handle(self: Any) -> Any:
            meter.sizes = []
            try:
                result = original(self)
                sizes: list[tuple[str, int]] = meter.sizes
            finally:
                meter.sizes = None
            mode = self.body.get("ReturnConsumedCapacity", "NONE")
            body: dict[str, Any] = result.result
            if name == "batch_get_item":
                body.pop("ConsumedCapacity", None)
                if mode != "NONE":
                    body["ConsumedCapacity"] = _batch_consumed(self.body["RequestItems"], sizes, mode)
            elif mode != "NONE":
                body["ConsumedCapacity"] = _request_consumed(self, name, sizes, mode)
            return result

        return handle

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(Table, "query", query))
        stack.enter_context(mock.patch.object(Table, "scan", scan))
        stack.enter_context(mock.patch.object(Table, "get_item", get_item))
        for name in ("query", "scan", "get_item", "batch_get_item"):
            stack.enter_context(mock.patch.object(DynamoHandler, name, metered(name)))
        yield


def _filtered(read: list[Any], filter_expression: Any, projection: Any) -> list[Any]:
    """What moto's Query and Scan return of the items they read: those that pass the filter, projected."""
    if filter_expression is not None:
        read = [item for item in read if filter_expression.expr(item)]
    if projection:
        read = [item.project(projection) for item in read]
    return read


def _request_consumed(handler: Any, name: str, sizes: list[tuple[str, int]], mode: str) -> dict[str, Any]:
    """The ``ConsumedCapacity`` of one Query, Scan or GetItem."""
    table_name = str(handler.body["TableName"])
    index = handler.body.get("IndexName")
    consistent = bool(handler.body.get("ConsistentRead", False))
    index_kind = "GlobalSecondaryIndexes"
    if index is not None:
        table = handler.dynamodb_backend.get_table(table_name)
        if any(local.name == index for local in table.indexes or []):
            index_kind = "LocalSecondaryIndexes"
        else:
            consistent = False  # a global secondary index is read eventually consistent, always
    if name == "get_item":
        units = read_units(sizes[0][1] if sizes else 0, consistent=consistent)
    else:
        units = read_units(sum(size for _, size in sizes), consistent=consistent)
    return _consumed(table_name, units, mode=mode, index=index, index_kind=index_kind)


def _batch_consumed(request_items: dict[str, Any], sizes: list[tuple[str, int]], mode: str) -> list[dict[str, Any]]:
    """The ``ConsumedCapacity`` of a BatchGetItem: per table, each item rounded up on its own."""
    consumed = []
    for table_name, request in request_items.items():
        consistent = bool(request.get("ConsistentRead", False))
        units = sum(read_units(size, consistent=consistent) for table, size in sizes if table == table_name)
        consumed.append(_consumed(table_name, units, mode=mode))
    return consumed
