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

A function created or updated through the Lambda API with a zip (``CreateFunction``/``UpdateFunctionCode``, as
``sam deploy`` or the AWS CLI do) and nothing registered for it runs its own code: the zip is extracted to a folder
per function and code version, and its ``Handler`` loaded from there as Lambda's Python runtime would (the folder on
``sys.path``, the function's environment, a context object). Creating or updating a function's code through the API
forgets what was registered for it. What cannot run fails the invoke with Lambda's own error names: a runtime other
than Python is ``InvalidRuntimeException`` (the service refuses the invoke with HTTP 502, its status on AWS, which
boto3 and the AWS CLI retry as they would against AWS: each attempt is recorded as a ``refused`` invocation and the
first refusal of a function's runtime is explained once on stderr); a handler that cannot be loaded is a
function error ``Runtime.ImportModuleError``, ``Runtime.UserCodeSyntaxError``, ``Runtime.HandlerNotFound`` or
``Runtime.MalformedHandlerName``, reported as any handler exception is. Every handler exception is also written to
stderr as Lambda logs it (``[ERROR] Type: message`` and the traceback), inside ``function_logs.running`` so that
``foreman local serve`` prefixes it with the function's name.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from unittest import mock

from moto.awslambda.models import LambdaBackend
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError

from foreman.local.function_logs import running

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
    reload: bool = False


class HandlerLoadError(Exception):
    """The handler could not be loaded; ``error_type`` is the name Lambda's Python runtime reports it under."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


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
    _faults: dict[str, tuple[str, int, int | None, bool]] = field(default_factory=dict)
    _code_root: tempfile.TemporaryDirectory[str] | None = None
    _loaded_versions: dict[str, int] = field(default_factory=dict)
    _imported: dict[str, set[str]] = field(default_factory=dict)
    _refused_runtimes: set[tuple[str, str]] = field(default_factory=set)
    destination_records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every asynchronous-invocation destination record sent, in order: (destination ARN, record)."""

    def add_code(self, function_name: str, code_dir: str, handler: str, *, reload: bool = False) -> None:
        """Run ``handler`` (``package.module.function``) from ``code_dir`` when ``function_name`` is invoked.

        ``reload``: when a ``.py`` file under ``code_dir`` has changed since the handler was loaded, the next invoke
        is a cold start with the new code (for code a person is editing; Lambda itself needs a new deploy)."""
        self.functions[function_name] = _Function(code_dir=os.path.abspath(code_dir), handler=handler, reload=reload)

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

    def add_fault(
        self,
        function_name: str,
        code: str,
        *,
        status: int = 429,
        times: int | None = None,
        after_delivery: bool = False,
    ) -> None:
        """Make the next ``times`` invokes of ``function_name`` (all, with None) fail in the Lambda service itself
        with error ``code`` (e.g. ``TooManyRequestsException``), before any handler runs, as AWS would answer.
        ``after_delivery``: the invoke is made (the handler runs) and only then answered with the error, as when
        Lambda queued an event and its answer was lost (a 5xx, a dropped connection)."""
        self._faults[function_name] = (code, status, times, after_delivery)

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
            try:
                if config is not None:
                    return runtime._run_async(backend, fn, body, config)
                return runtime._run(fn, invocation_type, body, response_headers)
            except JsonRESTError:
                raise  # an AWS error the runtime meant (a fault, a runtime Lambda refuses): as it is
            except Exception as error:  # the emulator itself failed: the Lambda service's own error, never a 500 page
                sys.stderr.write(f"{fn.function_name} | [local runtime] invoke failed: {error!r}\n")
                failure = JsonRESTError("ServiceException", f"the local Lambda runtime failed: {error}")
                failure.code = 500
                raise failure from error

        create_function = LambdaBackend.create_function
        update_function_code = LambdaBackend.update_function_code

        def create(backend: LambdaBackend, spec: dict[str, Any]) -> Any:
            runtime.functions.pop(str(spec.get("FunctionName")), None)  # new code: what was registered is gone
            return create_function(backend, spec)

        def update_code(backend: LambdaBackend, function_name: str, qualifier: str, body: dict[str, Any]) -> Any:
            result = update_function_code(backend, function_name, qualifier, body)
            runtime.functions.pop(backend.get_function(function_name, None).function_name, None)
            return result

        try:
            with (
                mock.patch.object(LambdaSimpleBackend, "invoke", invoke),
                mock.patch.object(LambdaBackend, "create_function", create),
                mock.patch.object(LambdaBackend, "update_function_code", update_code),
            ):
                yield self
        finally:
            if self._code_root is not None:
                self._code_root.cleanup()
                self._code_root = None

    def _run(self, fn: Any, invocation_type: str, body: Any, response_headers: dict[str, str]) -> bytes:
        self._raise_fault(fn.function_name)
        payload, error = self._execute(fn, invocation_type, body)
        self._raise_fault(fn.function_name, delivered=True)
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
        self._raise_fault(fn.function_name, delivered=True)  # queued, and the answer lost
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
        registered = self.functions.get(name) or self._from_zip(fn)
        if isinstance(body, bytes):
            body = body.decode()
        event = json.loads(body) if body else {}
        call = Invocation(function_name=name, invocation_type=invocation_type, event=event, started=time.time())
        with self._lock:
            self.invocations.append(call)
            self._in_flight[name] = self._in_flight.get(name, 0) + 1
            self._peak[name] = max(self._peak.get(name, 0), self._in_flight[name])
        try:
            with running(name):
                try:
                    os.environ.update(_lambda_environment(fn))
                    handler = registered.callable or self._load(registered)
                    context = LambdaContext(
                        name, fn.function_arn, int(fn.memory_size or 128), int(fn.timeout or 3), request_id=request_id
                    )
                    call.result = handler(event, context)
                    payload = json.dumps(call.result)
                except Exception as error:  # Lambda reports any handler exception the same way
                    error_type = error.error_type if isinstance(error, HandlerLoadError) else type(error).__name__
                    call.error = f"{error_type}: {error}"
                    stack = _handler_frames(error)
                    sys.stderr.write(f"[ERROR] {error_type}: {error}\n")  # as Lambda logs an unhandled exception
                    if stack:
                        sys.stderr.write("Traceback (most recent call last):\n" + "".join(stack))
                    return "", {"errorMessage": str(error), "errorType": error_type, "stackTrace": stack}
        finally:
            call.ended = time.time()
            with self._lock:
                self._in_flight[name] -= 1
        return payload, None

    def _raise_fault(self, name: str, *, delivered: bool = False) -> None:
        """Raise the fault set for ``name`` at this stage of the invoke: before the handler runs, or (``delivered``)
        after it ran, for a fault added ``after_delivery``."""
        with self._lock:
            fault = self._faults.get(name)
            if fault is None:
                return
            code, status, times, after_delivery = fault
            if after_delivery != delivered:
                return
            if times is not None:
                if times <= 1:
                    del self._faults[name]
                else:
                    self._faults[name] = (code, status, times - 1, after_delivery)
            self.invocations.append(
                Invocation(function_name=name, invocation_type="fault", event=None, started=time.time(), error=code)
            )
        error = JsonRESTError(code, f"injected fault: {code}")
        error.code = status
        raise error

    def _refuse_runtime(self, name: str, runtime_name: str) -> None:
        """Refuse an invoke of a function whose runtime is not Python, as Lambda refuses a runtime it cannot run:
        ``InvalidRuntimeException``, HTTP 502 (its status in Lambda's API). boto3 and the AWS CLI retry any 502
        (three attempts in all in their default standard mode), against AWS as here, so each attempt is recorded as
        a ``refused`` invocation, and the first refusal of a function's runtime says why on stderr, once."""
        with self._lock:
            self.invocations.append(
                Invocation(
                    function_name=name,
                    invocation_type="refused",
                    event=None,
                    started=time.time(),
                    error="InvalidRuntimeException",
                )
            )
            first = (name, runtime_name) not in self._refused_runtimes
            self._refused_runtimes.add((name, runtime_name))
        if first:
            sys.stderr.write(
                f"{name} | [local runtime] runtime {runtime_name}: only Python functions (python3.x) run locally, "
                "so every invoke of this function fails with InvalidRuntimeException (HTTP 502, as Lambda answers "
                "it: boto3 and the AWS CLI retry it before they report it; a run's Invoke fails the task's attempt "
                "with Lambda.InvalidRuntimeException)\n"
            )
        error = JsonRESTError(
            "InvalidRuntimeException",
            f"The runtime {runtime_name} of function {name} is not supported here: only Python functions "
            "(python3.x) run on the local stack (foreman local serve)",
        )
        error.code = 502
        raise error

    def _from_zip(self, fn: Any) -> _Function:
        """The function's own code: its zip, extracted once per code version; ``InvalidRuntimeException`` unless it
        is a Python function."""
        runtime_name = str(fn.run_time or "")
        if not runtime_name.startswith("python"):
            self._refuse_runtime(fn.function_name, runtime_name or "(none)")
        with self._lock:
            if self._code_root is None:
                self._code_root = tempfile.TemporaryDirectory(prefix="foreman-lambda-")
            versions = os.path.join(self._code_root.name, fn.function_name)
            folder = os.path.join(versions, str(fn.code_sha_256 or "empty")[:16])
            if not os.path.isdir(folder):
                _forget_code_under(versions)  # a new version: its modules must not come from the last one
                self._modules = {key: module for key, module in self._modules.items() if not _under(key[0], versions)}
                os.makedirs(folder)
                try:
                    with zipfile.ZipFile(io.BytesIO(fn.code_bytes or b"")) as bundle:
                        bundle.extractall(folder)
                except zipfile.BadZipFile:
                    pass  # no module to import: the invoke fails with Runtime.ImportModuleError, as on Lambda
        return _Function(code_dir=folder, handler=str(fn.handler or ""))

    def _load(self, function: _Function) -> Handler:
        assert function.code_dir is not None
        assert function.handler is not None
        if "." not in function.handler:
            raise HandlerLoadError(
                "Runtime.MalformedHandlerName",
                f"Bad handler '{function.handler}': not enough values to unpack (expected 2, got 1)",
            )
        module_name, func_name = function.handler.rsplit(".", 1)
        key = (function.code_dir, module_name)
        with self._lock:  # Map iterations call concurrently: import each handler module once per cold start
            if function.reload:
                version = _code_version(function.code_dir)
                if self._loaded_versions.get(function.code_dir, version) != version:
                    for name in self._imported.pop(function.code_dir, set()):  # only what its code imported
                        sys.modules.pop(name, None)
                    self._modules = {k: m for k, m in self._modules.items() if k[0] != function.code_dir}
                self._loaded_versions[function.code_dir] = version
            if key not in self._modules:
                before = set(sys.modules.copy())
                self._modules[key] = _import_handler_module(function.code_dir, module_name)
                self._imported.setdefault(function.code_dir, set()).update(
                    name
                    for name, module in sys.modules.copy().items()
                    if name not in before
                    and (origin := getattr(module, "__file__", None))
                    and _under(origin, function.code_dir)
                )
        handler = getattr(self._modules[key], func_name, None)
        if not callable(handler):
            raise HandlerLoadError(
                "Runtime.HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'"
            )
        return handler


def _under(path: str, folder: str) -> bool:
    return os.path.abspath(path).startswith(os.path.abspath(folder) + os.sep)


def _forget_code_under(folder: str) -> None:
    """Drop from ``sys.modules`` and ``sys.path`` every module and entry of a function's earlier code versions, so
    its new code imports its own modules (``import helpers`` would otherwise get the old version's)."""
    for name, module in sys.modules.copy().items():
        origin = getattr(module, "__file__", None)
        if origin and _under(origin, folder):
            del sys.modules[name]
    sys.path[:] = [entry for entry in sys.path if not _under(entry, folder)]


def _code_version(folder: str) -> int:
    """The newest modification time (ns) of the Python files under ``folder``, hidden folders and caches left out."""
    newest = 0
    for root, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".") and name != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                newest = max(newest, os.stat(os.path.join(root, name)).st_mtime_ns)
    return newest


def _handler_frames(error: BaseException) -> list[str]:
    """The traceback of a handler exception from the handler's own frame on (this runtime's frame left out), as
    Lambda's ``stackTrace`` shows it; none for a handler that could not be loaded."""
    if isinstance(error, HandlerLoadError) or error.__traceback__ is None:
        return []
    return traceback.format_tb(error.__traceback__.tb_next or error.__traceback__)


def _import_handler_module(code_dir: str, module_name: str) -> ModuleType:
    """Import ``module_name`` (``app``, ``pkg.app`` or ``src/app``) from ``code_dir``, with the folder first on
    ``sys.path``; import and syntax errors become Lambda's ``Runtime.*`` errors."""
    relative = module_name.replace(".", "/")
    path = os.path.join(code_dir, relative + ".py")
    if not os.path.isfile(path):
        path = os.path.join(code_dir, relative, "__init__.py")
    if not os.path.isfile(path):
        top = relative.split("/")[0]
        raise HandlerLoadError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': No module named '{top}'"
        )
    spec = importlib.util.spec_from_file_location(
        f"_local_lambda_{uuid.uuid4().hex[:8]}_{relative.replace('/', '_')}", path
    )
    if spec is None or spec.loader is None:
        raise HandlerLoadError("Runtime.ImportModuleError", f"Unable to import module '{module_name}'")
    module = importlib.util.module_from_spec(spec)
    if code_dir in sys.path:
        sys.path.remove(code_dir)
    sys.path.insert(0, code_dir)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise HandlerLoadError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}"
        ) from error
    except ImportError as error:
        raise HandlerLoadError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
        ) from error
    return module


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
