"""``foreman local serve``: the local stack as a long-running AWS endpoint on loopback, where a user develops.

It deploys ``template.yaml`` on a moto server (``foreman.local.stack.serving``), creates the user's labourers
(``--labourer NAME=DIR:module.function``: a Lambda function whose handler is loaded from DIR, as Lambda would) and
the example labourers (unless ``--no-examples``), stores the user's config (``--config FILE``, validated first) or
``examples/config.json``, runs the template's schedules (the Orchestrator and the Scavenger; ``--every`` to run them
faster, ``--no-schedule`` to drive them by hand), serves the local console (``foreman.console``), prints one JSON line
describing all that and serves until Ctrl-C, SIGTERM or ``--for-seconds``. With the examples' config, a simulated
``reports-db`` puts its CPU (``20 + 7 x running reports``) into CloudWatch every few seconds, so the ``reports``
labourer has a health to read.

Every labourer created here reports its outcome as the README's "no worker code" wiring does on AWS: an
EventInvokeConfig with ``MaximumRetryAttempts: 0`` whose ``OnSuccess`` and ``OnFailure`` destinations are the stack's
``TaskDestination`` function (so an exception fails the task, and the Scavenger retries it). What the functions print
reaches stderr, each line prefixed by the function's name (``foreman.local.function_logs``).
"""

from __future__ import annotations

import faulthandler
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from foreman.examples import (
    SimulatedDatabase,
    completer_for,
    example_config,
    example_config_dict,
    function_name,
    register_example_labourers,
    tracked_database,
)
from foreman.local.arn_mapping import local_arns
from foreman.status import markers_at

_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
DEFAULT_CONSOLE_PORT = 4567
"""The console's port when --port is the default 4566."""
METRIC_INTERVAL_SECONDS = 5.0
"""How often the simulated database puts its CPU while serving."""


class ServeError(RuntimeError):
    """The endpoint could not start (e.g. its port is taken)."""


def check_port(host: str, port: int, *, option: str = "--port") -> None:
    """``ServeError`` if ``host:port`` cannot be listened on (another process listens there)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # as the servers themselves bind (SO_REUSEADDR): the connections of a server just stopped, in TIME-WAIT for
        # a minute, do not keep its port from a new one; a port another process listens on still fails
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ServeError(
                f"cannot listen on {host}:{port}: {error.strerror} (pass {option} 0 for any free port)"
            ) from None


LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}
"""What the local stack's own clients (deployer, handlers, labourers) sign with: never a real account's keys."""


def _local_credentials() -> AbstractContextManager[None]:
    from foreman.local.stack import environment  # moto loads with it: not at the CLI's start

    return environment(LOCAL_CREDENTIALS, unset=("AWS_PROFILE", "AWS_DEFAULT_PROFILE"))


STOP_SECONDS = 8.0
"""How long ``foreman local serve`` lets an orderly stop take after SIGTERM before it ends the process."""


def _exit_after(seconds: float) -> None:
    time.sleep(seconds)
    sys.stderr.write("foreman local serve: stopped (what was still running was abandoned)\n")
    sys.stderr.flush()
    os._exit(0)


@contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: Any) -> None:
        stop.set()
        # Everything the server holds is in memory and goes with it: an execution still running (a Retry waiting
        # out its interval, a Lambda step mid-call) must not keep a stopped server alive. An orderly stop takes a
        # second or two; past STOP_SECONDS the process ends anyway, with exit code 0 as asked.
        threading.Thread(target=_exit_after, args=(STOP_SECONDS,), name="stop", daemon=True).start()

    previous = signal.signal(signal.SIGTERM, handle)
    # SIGUSR1 writes every thread's stack to stderr: what to look at if a stop ever hangs
    faulthandler.register(signal.SIGUSR1, file=sys.__stderr__ or sys.stderr, all_threads=True)
    try:
        yield
    finally:
        faulthandler.unregister(signal.SIGUSR1)
        signal.signal(signal.SIGTERM, previous)


def describe(
    endpoint: str, deployment: Any, *, labourers: list[str], functions: dict[str, str] | None = None
) -> dict[str, Any]:
    """The JSON line ``foreman local serve`` prints: everything a client needs to use the endpoint."""
    from foreman.local.deployer import REGION

    outputs = {key: value for key, value in deployment.outputs.items() if isinstance(value, str)}
    deployed = {
        name: str(value)
        for (logical_id, attribute), value in deployment.attributes.items()
        if attribute == "Arn" and ":function:" in str(value)
        for name in [function_name(str(value))]
    }
    return {
        "endpoint": endpoint,
        "region": REGION,
        "stack_name": deployment.stack_name,
        "tables": {
            "tasks": outputs.get("TasksTableName"),
            "closed": outputs.get("ClosedTasksTableName"),
            "retry": outputs.get("RetryTasksTableName"),
        },
        "state_machines": {
            logical_id: deployment.physical[logical_id] for logical_id in deployment.state_machine_definitions
        },
        "functions": {**deployed, **(functions or {})},
        "config_location": outputs.get("ConfigLocation"),
        "labourers": labourers,
        "outputs": outputs,
    }


@dataclass(frozen=True)
class LabourerCode:
    """A labourer given as ``--labourer NAME=DIR:module.function``: function NAME runs ``handler`` from ``code_dir``."""

    name: str
    code_dir: str
    handler: str

    @classmethod
    def parse(cls, text: str) -> LabourerCode:
        """Read ``NAME=DIR:module.function``; ``ServeError`` saying what is wrong."""
        name, _, rest = text.partition("=")
        code_dir, _, handler = rest.rpartition(":")
        if not name or not code_dir or not handler:
            raise ServeError(f"--labourer {text!r}: expected NAME=DIR:module.function, e.g. mine=./src:app.handler")
        if not _FUNCTION_NAME.fullmatch(name):
            raise ServeError(f"--labourer {text!r}: {name!r} is not a Lambda function name (letters, digits, - and _)")
        if "." not in handler:
            raise ServeError(f"--labourer {text!r}: the handler {handler!r} must be module.function, e.g. app.handler")
        if not os.path.isdir(code_dir):
            raise ServeError(f"--labourer {text!r}: {code_dir}: no such folder")
        problem = handler_problem(code_dir, handler)
        if problem is not None:
            raise ServeError(f"--labourer {text!r}: {problem}")
        return cls(name, os.path.abspath(code_dir), handler)


def handler_problem(code_dir: str, handler: str) -> str | None:
    """Why ``handler`` (``package.module.function``) cannot be found in ``code_dir``, or ``None``: the module's
    file must exist and define the function at its top level (a ``def``, an assignment or an import of that name).
    The file is read, not run: the user's code first runs at its first invoke, as on Lambda."""
    import ast

    module, _, function = handler.rpartition(".")
    base = os.path.join(code_dir, *module.split("."))
    path = next(
        (candidate for candidate in (base + ".py", os.path.join(base, "__init__.py")) if os.path.isfile(candidate)),
        None,
    )
    if path is None:
        return f"no module {module!r} in {code_dir} (expected {base}.py)"
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)
    except (SyntaxError, UnicodeDecodeError, OSError) as error:
        return f"{path} cannot be read as Python: {error}"
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    if function in names:
        return None
    functions = sorted(name for name in names if not name.startswith("_")) or ["nothing"]
    return f"{path} defines no {function!r} (it defines: {', '.join(functions)})"


@dataclass(frozen=True)
class ServeOptions:
    """What ``foreman local serve`` was asked for. ``console_port`` None: no console; ``every``: one period (seconds)
    for every schedule instead of the template's rates."""

    host: str = "127.0.0.1"
    port: int = 4566
    examples: bool = True
    for_seconds: float | None = None
    labourers: list[LabourerCode] = field(default_factory=list)
    config_path: str | None = None
    schedule: bool = True
    every: float | None = None
    console_port: int | None = DEFAULT_CONSOLE_PORT
    orchestrator_type: str = "STANDARD"
    metrics_log: str | None = None
    """A file for the functions' CloudWatch metric blobs (EMF JSON lines), kept off stderr."""


def read_config_file(path: str) -> tuple[dict[str, Any], Any]:
    """The orchestrator config in ``path``: (raw JSON object, parsed config); ``ServeError`` naming the file and
    every problem with its path."""
    from foreman_core.config import ConfigError, parse_config
    from foreman_core.config_source import ConfigSourceError, load_raw_config

    try:
        raw = load_raw_config(f"file:{path}")
        return raw, parse_config(raw)
    except (ConfigSourceError, ConfigError) as error:
        message = str(error).removeprefix(f"file:{path}: ")
        raise ServeError(f"--config {path}: {message}") from None


def serve(options: ServeOptions, out: TextIO) -> int:
    """Serve until stopped; print the JSON line first. Returns the exit code; ``ServeError`` if it cannot start (a
    port taken, an invalid ``--config``). ``options.orchestrator_type`` is the
    template's ``OrchestratorType`` (with EXPRESS, ``foreman run`` runs it with StartSyncExecution, as on AWS)."""
    import boto3

    from foreman.config_store import ConfigTooLargeError, store_config
    from foreman.local.deployer import REGION
    from foreman.local.function_logs import function_output
    from foreman.local.stack import quiet_moto, serving
    from foreman_core.config import parse_config

    check_port(options.host, options.port)
    if options.console_port is not None:
        check_port(options.host, options.console_port, option="--console-port")
    user_config = read_config_file(options.config_path) if options.config_path else None
    quiet_moto()
    arn_mapping: dict[str, str] = {}
    if user_config is not None:
        raw, arn_mapping = local_arns(*user_config)
        config = parse_config(raw)
    elif options.examples:
        raw, config = example_config_dict(), example_config()
    else:
        raw, config = None, None
    # the local LabourerArns: any function, so labourers can come and go
    parameters = {"LogLevel": "WARNING", "OrchestratorType": options.orchestrator_type}
    stop = threading.Event()
    try:  # Ctrl-C is how a person stops it, whenever it comes: the stack's contexts close, then it says so
        with ExitStack() as stack:
            # stdout carries the one JSON line; what the functions print goes to stderr, prefixed by their names
            stack.enter_context(redirect_stdout(sys.stderr))
            metrics = (
                stack.enter_context(open(options.metrics_log, "a", encoding="utf-8")) if options.metrics_log else None
            )
            stack.enter_context(function_output(sys.stderr, metrics=metrics))
            stack.enter_context(_local_credentials())
            stack.enter_context(_stop_on_sigterm(stop))
            endpoint, deployment, runtime = stack.enter_context(
                serving(options.host, options.port, parameters=parameters)
            )

            def client(service: str) -> Any:
                return boto3.client(
                    service,
                    region_name=REGION,
                    endpoint_url=endpoint,
                    aws_access_key_id="local",
                    aws_secret_access_key="local",
                )

            lambda_client = client("lambda")
            destination = deployment.outputs.get("TaskDestinationFunctionArn")
            functions: dict[str, str] = {}

            def create_function(name: str, handler: str = "app.handler", timeout: int = 60) -> str:
                arn: str = lambda_client.create_function(
                    FunctionName=name,
                    Runtime="python3.12",
                    Role=deployment.role_arn(),
                    Handler=handler,
                    Code={"ZipFile": _empty_zip()},
                    Timeout=timeout,
                )["FunctionArn"]
                if destination:  # the README's "no worker code" wiring: Lambda reports each outcome to TaskDestination
                    lambda_client.put_function_event_invoke_config(
                        FunctionName=name,
                        MaximumRetryAttempts=0,
                        DestinationConfig={
                            "OnSuccess": {"Destination": destination},
                            "OnFailure": {"Destination": destination},
                        },
                    )
                functions[name] = arn
                return arn

            for labourer in options.labourers:
                create_function(labourer.name, labourer.handler, timeout=900)
                runtime.add_code(labourer.name, labourer.code_dir, labourer.handler, reload=True)
            _say_what_labourers_replace(options, config)
            if options.examples:
                complete = _example_completion(deployment, client, destination)

                def add_example(name: str, handler: Any) -> str:
                    if name in functions:  # a --labourer of the same name: your code, not the example's
                        return functions[name]
                    arn = create_function(name)
                    runtime.add_callable(name, handler)
                    return arn

                register_example_labourers(example_config(), add_example, complete)
            if raw is not None:
                try:
                    store_config(client, str(deployment.outputs["ConfigLocation"]), json.dumps(raw))
                except ConfigTooLargeError as error:
                    raise ServeError(f"--config {options.config_path}: {error}") from None
            if user_config is None and config is not None:
                _publish_simulated_metrics(config, client, stop)

            schedules = _schedules(options, deployment, client, stop)
            labourer_ids = [labourer.id for labourer in config.labourers] if config else []
            line = describe(endpoint, deployment, labourers=labourer_ids, functions=functions)
            line["schedules"] = schedules
            line["labourer_code"] = {code.name: f"{code.code_dir}:{code.handler}" for code in options.labourers}
            if arn_mapping:
                line["arn_mapping"] = arn_mapping
            if config is not None:
                missing = sorted(
                    {function_name(labourer.arn) for labourer in config.labourers} - set(line["functions"])
                )
                if missing:
                    line["missing_functions"] = missing
            line["console"] = None
            if options.console_port is not None:
                from foreman.console.api import ConsoleApi
                from foreman.console.server import console_server
                from foreman.local.patches.express_workflows import express_history
                from foreman_core.config import Tables

                tables = Tables(**{key: value for key, value in line["tables"].items() if value})
                api = ConsoleApi(
                    client,
                    dict(line["state_machines"]),
                    str(deployment.outputs["ConfigLocation"]),
                    tables,
                    express_history=express_history,  # the Express children's histories, from the stack's record
                )
                line["console"] = stack.enter_context(console_server(api, options.host, options.console_port))
            out.write(json.dumps(line) + "\n")
            out.flush()
            _say_where(line)
            try:
                _wait_for(stop, options.for_seconds)
            finally:
                stop.set()
    except KeyboardInterrupt:
        stop.set()
    sys.stderr.write(STOPPED + "\n")
    sys.stderr.flush()
    return 0


STOPPED = "foreman local serve: stopped; everything was in memory (tables, queues, executions, config) and is gone"
"""What ``foreman local serve`` says when it stops (Ctrl-C, SIGTERM, --for-seconds)."""


SIGNAL_POLL_SECONDS = 0.5
"""How often the main thread wakes while it waits, so a signal another thread received gets handled."""


def _wait_for(stop: threading.Event, seconds: float | None) -> None:
    """Wait until ``stop`` is set or ``seconds`` have passed (``None``: for ever), waking every
    ``SIGNAL_POLL_SECONDS``. Python runs a signal's handler in the main thread only when that thread runs bytecode:
    a SIGTERM the kernel delivered to another of the server's threads would otherwise wait for ever behind a wait
    with no timeout (seen: SIGTERM ignored for 20 s, the main thread in ``Event.wait()``)."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while not stop.is_set():
        left = SIGNAL_POLL_SECONDS if deadline is None else min(SIGNAL_POLL_SECONDS, deadline - time.monotonic())
        if left <= 0:
            return
        stop.wait(left)


def _say_what_labourers_replace(options: ServeOptions, config: Any) -> None:
    """A line on stderr for each ``--labourer`` that replaces an example labourer's function, or that no labourer of
    the config runs (its tasks would never be invoked)."""
    examples = {function_name(labourer.arn) for labourer in example_config().labourers} if options.examples else set()
    configured = {function_name(labourer.arn) for labourer in config.labourers} if config is not None else set()
    for code in options.labourers:
        if code.name in examples:
            sys.stderr.write(
                f"foreman local serve: --labourer {code.name} replaces the example labourer's function {code.name}\n"
            )
        if code.name not in configured:
            sys.stderr.write(
                f"foreman local serve: --labourer {code.name}: no labourer of the config runs function {code.name}, so "
                "none of its tasks will be invoked (name it in --config, or store a config with `foreman config put`)\n"
            )


def _say_where(line: dict[str, Any]) -> None:
    """One line for a person on stderr: where the endpoint and the console are, what the schedules do."""
    runs = ", ".join(f"{name} {spec['expression']}" for name, spec in line["schedules"].items()) or "none"
    console = f", console {line['console']}" if line["console"] else ""
    sys.stderr.write(f"foreman local serve: endpoint {line['endpoint']}{console}; schedules: {runs}\n")
    for original, local in line.get("arn_mapping", {}).items():
        sys.stderr.write(f"foreman local serve: {original} runs as the local {local}\n")
    if line.get("missing_functions"):
        missing = ", ".join(line["missing_functions"])
        sys.stderr.write(f"foreman local serve: the config names functions that do not exist here (yet): {missing}\n")
    sys.stderr.flush()


def _example_completion(deployment: Any, client: Any, destination: Any) -> Any:
    """How an example labourer's result is recorded: by its destination (nothing to do here) when the stack has
    TaskDestination, else at once on the tasks table."""
    from foreman_core.task_store import TaskStore

    if destination:
        return lambda labourer_id, event, result: None
    examples = example_config()
    store = TaskStore(client("dynamodb"), examples.tables, delta=examples.greenfield_invocation_delta)
    complete, _ = completer_for(deployment.outputs, examples, lambda_client=client("lambda"), store=store)
    return complete


def _publish_simulated_metrics(config: Any, client: Any, stop: threading.Event) -> None:
    """Start the simulated databases: ``reports-db`` and, when the config tracks it, ``invoices-db`` (the
    target-tracking labourer's); each one's CPU follows its labourer's running tasks until ``stop``."""
    from foreman_core.task_store import TaskStore

    store = TaskStore(client("dynamodb"), config.tables, delta=config.greenfield_invocation_delta)
    databases = [SimulatedDatabase.for_config(config)]
    tracked = tracked_database(config)
    if tracked is not None:
        databases.append(tracked)

    def publish() -> None:
        cloudwatch = client("cloudwatch")
        while not stop.is_set():
            now = time.time()
            for database in databases:
                watched = config.labourer(database.labourer_id)
                database.publish(cloudwatch, store.count_running(watched.id, markers_at(config, watched, now)), at=now)
            stop.wait(METRIC_INTERVAL_SECONDS)

    for database in databases:
        database.publish(client("cloudwatch"), 0, at=time.time())
    threading.Thread(target=publish, name="databases", daemon=True).start()


def _schedules(options: ServeOptions, deployment: Any, client: Any, stop: threading.Event) -> dict[str, Any]:
    """Start the template's schedules (or every ``--every`` seconds) unless ``--no-schedule``; what runs, by state
    machine."""
    from foreman.schedules import Scheduler, every, schedules_line, template_schedules

    if not options.schedule:
        return {}
    schedules = template_schedules(deployment)
    if options.every is not None:
        schedules = every(schedules, options.every)
    sfn = client("stepfunctions")
    Scheduler(
        schedules, lambda arn, text: sfn.start_execution(stateMachineArn=arn, input=text), stop, log=sys.stderr
    ).start()
    return schedules_line(schedules)


def _empty_zip() -> bytes:
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("README.txt", "runs in-process in `foreman local serve`")
    return archive.getvalue()
