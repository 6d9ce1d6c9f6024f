"""An in-process Lambda runtime behind moto's Lambda API.

moto (with ``lambda.use_docker`` off) answers ``Invoke`` from ``LambdaSimpleBackend.invoke``, which only echoes the
request. ``LambdaRuntime.patched()`` replaces that one method so that an invoke runs real Python: the project's
handlers (loaded from the function's ``CodeUri``, as Lambda would) or a Python callable registered for a function
name (the fake labourers of tests and the demo). Everything else about the call stays moto's: an unknown function is
moto's ``ResourceNotFoundException``; a handler exception comes back as ``x-amz-function-error: Unhandled`` with
``errorType`` = the exception's class name, so ``Retry``/``Catch`` match on it exactly as on AWS.

``InvocationType: Event`` (asynchronous) calls run the handler in the caller's thread and answer 202: the caller
does not see the handler's result or error, as on AWS, and a Map's concurrency bounds how many run at once, which is
what lets a test measure a labourer's peak concurrency. A function with an ``EventInvokeConfig``
(``put_function_event_invoke_config``) gets Lambda's asynchronous-invocation behaviour for ``Event`` calls: a handler
error is retried up to ``MaximumRetryAttempts`` times (default 2, immediately: no 1- and 2-minute waits), then the
``OnFailure`` destination gets a ``RetriesExhausted`` record; a success sends the ``OnSuccess`` destination a
``Success`` record, in AWS's shape (``destination_record``). Lambda destinations are invoked (asynchronously, as AWS
does); every record, whatever its destination, is kept in ``LambdaRuntime.destination_records``, and only Lambda
destinations are delivered. Functions without an EventInvokeConfig keep the plain behaviour: one call, no retry.
What Lambda itself does not enforce here: timeouts, memory, payload limits, event age, IAM.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from unittest import mock

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError

Handler = Callable[[Any, Any], Any]


@dataclass
class Invocation:
    """One call that reached a function: what it got, how it ended."""

    function_name: str
    invocation_type: str
    event: Any
    started: float
    ended: float = 0.0
    error: str | None = None
    result: Any = None


@dataclass
class _Function:
    code_dir: str | None = None
    handler: str | None = None
    callable: Handler | None = None


def _lambda_environment(fn: Any) -> dict[str, str]:
    """What Lambda puts in a function's environment, and the function's own variables on top."""
    region = fn.function_arn.split(":")[3]
    reserved = {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size or 128),
    }
    return {**reserved, **{key: str(value) for key, value in (fn.environment_vars or {}).items()}}


class LambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    def __init__(
        self, function_name: str, function_arn: str, memory_size: int, timeout: int, request_id: str | None = None
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = memory_size
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


@dataclass
class LambdaRuntime:
    """Runs Lambda functions in this process while ``patched()`` is active.

    Register functions with ``add_code`` (a ``CodeUri`` folder and a ``module.function`` handler, as in the
    template) or ``add_callable`` (any Python callable taking ``(event, context)``). ``invocations`` records every
    call, in order; ``peak_in_flight(name)`` is the most calls of one function that were running at once.
    """

    functions: dict[str, _Function] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    _modules: dict[tuple[str, str], ModuleType] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: dict[str, int] = field(default_factory=dict)
    _peak: dict[str, int] = field(default_factory=dict)
    _faults: dict[str, tuple[str, int, int | None]] = field(default_factory=dict)
    destination_records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every asynchronous-invocation destination record sent, in order: (destination ARN, record)."""

    def add_code(self, function_name: str, code_dir: str, handler: str) -> None:
        """Run ``handler`` (``package.module.function``) from ``code_dir`` when ``function_name`` is invoked."""
        self.functions[function_name] = _Function(code_dir=os.path.abspath(code_dir), handler=handler)

    def add_callable(self, function_name: str, handler: Handler) -> None:
        """Run ``handler(event, context)`` when ``function_name`` is invoked."""
        self.functions[function_name] = _Function(callable=handler)

    def wrap(self, function_name: str, wrapper: Callable[[Handler, Any, Any], Any]) -> None:
        """Run ``wrapper(real_handler, event, context)`` instead of the function's handler: a test hook that keeps
        the real handler in the call (to hold a step at a barrier, count calls, or fail before or after it)."""
        registered = self.functions[function_name]
        inner = registered.callable or self._load(registered)

        def wrapped(event: Any, context: Any) -> Any:
            return wrapper(inner, event, context)

        self.functions[function_name] = _Function(callable=wrapped)

    def add_fault(self, function_name: str, code: str, *, status: int = 429, times: int | None = None) -> None:
        """Make the next ``times`` invokes of ``function_name`` (all, with None) fail in the Lambda service itself
        with error ``code`` (e.g. ``TooManyRequestsException``), before any handler runs, as AWS would answer."""
        self._faults[function_name] = (code, status, times)

    def cold_start(self) -> None:
        """Forget loaded handler modules: the next call of each function imports it afresh."""
        with self._lock:
            self._modules.clear()

    def calls(self, function_name: str) -> list[Invocation]:
        """The recorded calls of one function."""
        with self._lock:
            return [call for call in self.invocations if call.function_name == function_name]

    def peak_in_flight(self, function_name: str) -> int:
        """The most calls of ``function_name`` that ran at the same time."""
        with self._lock:
            return self._peak.get(function_name, 0)

    @contextmanager
    def patched(self) -> Iterator[LambdaRuntime]:
        """Route moto's Lambda ``Invoke`` to this runtime for the duration of the block."""
        runtime = self

        def invoke(  # noqa: PLR0917 - moto's signature
            backend: LambdaSimpleBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: dict[str, str],
        ) -> bytes:
            fn = backend.get_function(function_name, qualifier)  # unknown function: ResourceNotFoundException
            invocation_type = (headers or {}).get("X-Amz-Invocation-Type", "RequestResponse")
            config = event_invoke_config(fn) if invocation_type == "Event" else None
            if config is not None:
                return runtime._run_async(backend, fn, body, config)
            return runtime._run(fn, invocation_type, body, response_headers)

        with mock.patch.object(LambdaSimpleBackend, "invoke", invoke):
            yield self

    def _run(self, fn: Any, invocation_type: str, body: Any, response_headers: dict[str, str]) -> bytes:
        self._raise_fault(fn.function_name)
        payload, error = self._execute(fn, invocation_type, body)
        if invocation_type == "Event":
            return b""
        if error is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(error).encode()
        return payload.encode()

    def _run_async(self, backend: Any, fn: Any, body: Any, config: Mapping[str, Any]) -> bytes:
        """An ``Event`` invoke of a function with an EventInvokeConfig: retries, then the destination record."""
        self._raise_fault(fn.function_name)  # the service refuses the event before queueing it
        retries = int(config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
        request_id = str(uuid.uuid4())
        count = 0
        while True:
            count += 1
            payload, error = self._execute(fn, "Event", body, request_id=request_id)
            if error is None or count > retries:
                break
        destinations = config.get("DestinationConfig") or {}
        target = (destinations.get("OnSuccess" if error is None else "OnFailure") or {}).get("Destination")
        if target:
            record = destination_record(
                fn, request_id, body, invoke_count=count, payload=payload if error is None else None, error=error
            )
            self._deliver(backend, target, record)
        return b""

    def _deliver(self, backend: Any, destination: str, record: dict[str, Any]) -> None:
        with self._lock:
            self.destination_records.append((destination, record))
        if destination.split(":")[2:3] != ["lambda"]:
            return  # SQS, SNS and EventBridge destinations are recorded, not delivered, locally
        try:
            target = backend.get_function(destination, None)
            config = event_invoke_config(target)
            if config is not None:
                self._run_async(backend, target, json.dumps(record), config)
            else:
                self._run(target, "Event", json.dumps(record), {})
        except Exception:  # as on AWS, a destination that cannot take the record never fails the original invoke
            logging.getLogger(__name__).exception("destination %s could not take the record", destination)

    def _execute(
        self, fn: Any, invocation_type: str, body: Any, *, request_id: str | None = None
    ) -> tuple[str, dict[str, Any] | None]:
        """Run the handler once: (its result as JSON text, None) or ("", Lambda's error payload)."""
        name = fn.function_name
        registered = self.functions.get(name)
        if registered is None:
            raise LookupError(f"function {name!r} exists in moto but has no code registered in the local runtime")
        if isinstance(body, bytes):
            body = body.decode()
        event = json.loads(body) if body else {}
        call = Invocation(function_name=name, invocation_type=invocation_type, event=event, started=time.time())
        with self._lock:
            self.invocations.append(call)
            self._in_flight[name] = self._in_flight.get(name, 0) + 1
            self._peak[name] = max(self._peak.get(name, 0), self._in_flight[name])
        try:
            os.environ.update(_lambda_environment(fn))
            handler = registered.callable or self._load(registered)
            context = LambdaContext(
                name, fn.function_arn, int(fn.memory_size or 128), int(fn.timeout or 3), request_id=request_id
            )
            call.result = handler(event, context)
            payload = json.dumps(call.result)
        except Exception as error:  # Lambda reports any handler exception the same way
            call.error = f"{type(error).__name__}: {error}"
            return "", {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
        finally:
            call.ended = time.time()
            with self._lock:
                self._in_flight[name] -= 1
        return payload, None

    def _raise_fault(self, name: str) -> None:
        with self._lock:
            fault = self._faults.get(name)
            if fault is None:
                return
            code, status, times = fault
            if times is not None:
                if times <= 1:
                    del self._faults[name]
                else:
                    self._faults[name] = (code, status, times - 1)
            self.invocations.append(
                Invocation(function_name=name, invocation_type="fault", event=None, started=time.time(), error=code)
            )
        error = JsonRESTError(code, f"injected fault: {code}")
        error.code = status
        raise error

    def _load(self, function: _Function) -> Handler:
        assert function.code_dir is not None
        assert function.handler is not None
        module_name, func_name = function.handler.rsplit(".", 1)
        key = (function.code_dir, module_name)
        with self._lock:  # Map iterations call concurrently: import each handler module once per cold start
            if key not in self._modules:
                path = os.path.join(function.code_dir, *module_name.split(".")) + ".py"
                spec = importlib.util.spec_from_file_location(f"_local_lambda_{len(self._modules)}_{module_name}", path)
                if spec is None or spec.loader is None:
                    raise ImportError(f"cannot load handler {function.handler!r} from {function.code_dir}")
                module = importlib.util.module_from_spec(spec)
                if function.code_dir not in sys.path:
                    sys.path.insert(0, function.code_dir)
                spec.loader.exec_module(module)
                self._modules[key] = module
        handler: Handler = getattr(self._modules[key], func_name)
        return handler


DEFAULT_ASYNC_RETRIES = 2
"""Lambda retries a failed asynchronous invocation twice unless the EventInvokeConfig says otherwise."""


def event_invoke_config(fn: Any) -> dict[str, Any] | None:
    """The function's EventInvokeConfig as put (``MaximumRetryAttempts``, ``DestinationConfig``...), or None.

    moto 5.2.5 keeps them in ``LambdaFunction.event_invoke_config`` (a list of ``EventInvokeConfig``, whose
    ``config`` is the request as sent) and appends on every put or update; the last one is the one in force.
    """
    configs = getattr(fn, "event_invoke_config", None) or []
    return dict(configs[-1].config) if configs else None


def destination_record(
    fn: Any,
    request_id: str,
    body: Any,
    *,
    invoke_count: int,
    payload: str | None,
    error: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The record Lambda sends to an asynchronous invocation's destination, in AWS's shape.

    ``condition`` is ``Success`` or ``RetriesExhausted``; ``requestPayload`` is the event as sent (parsed when it is
    JSON), ``responsePayload`` the handler's result or Lambda's error payload; ``responseContext.functionError`` is
    present only on failure.
    """
    if isinstance(body, bytes):
        body = body.decode()
    try:
        request_payload: Any = json.loads(body) if body else None
    except ValueError:
        request_payload = body
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if error is not None:
        response_context["functionError"] = "Unhandled"
    return {
        "version": "1.0",
        "timestamp": datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{fn.function_arn}:$LATEST",
            "condition": "Success" if error is None else "RetriesExhausted",
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": request_payload,
        "responseContext": response_context,
        "responsePayload": dict(error) if error is not None else (json.loads(payload) if payload else None),
    }
