"""``foreman local serve``: the local stack as a long-running AWS endpoint on loopback.

It deploys ``template.yaml`` on a moto server (``foreman.local.stack.serving``), registers the example labourers and
stores ``examples/config.json`` (unless told not to), prints one JSON line describing the deployment (endpoint,
region, tables, state machine and function ARNs, config location) and serves until Ctrl-C, SIGTERM or
``--for-seconds``. With the examples, a simulated ``reports-db`` puts its CPU (``20 + 7 x running reports``) into
CloudWatch every few seconds, so the ``reports`` labourer has a health to read.

Example labourers' completions go through the stack's ``TaskDestination`` function, as their asynchronous-invocation
``OnSuccess``/``OnFailure`` destination (when the template has it); otherwise they are recorded directly on the
tasks table, as sosw's WorkerAssistant would.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, redirect_stdout
from typing import Any, TextIO

from foreman.examples import (
    SimulatedDatabase,
    completer_for,
    example_config,
    example_config_dict,
    function_name,
    labourer_arns,
    register_example_labourers,
    tracked_database,
)
from foreman.status import markers_at

METRIC_INTERVAL_SECONDS = 5.0
"""How often the simulated database puts its CPU while serving."""


class ServeError(RuntimeError):
    """The endpoint could not start (e.g. its port is taken)."""


def _check_port(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ServeError(
                f"cannot listen on {host}:{port}: {error.strerror} (pass --port 0 for any free port)"
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


@contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
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


def serve(*, host: str, port: int, examples: bool, for_seconds: float | None, out: TextIO) -> int:
    """Serve until stopped; print the JSON line first. Returns the exit code."""
    import boto3

    from foreman.cli import CliError
    from foreman.local.deployer import REGION
    from foreman.local.stack import quiet_moto, serving
    from foreman_core.task_store import TaskStore

    try:
        _check_port(host, port)
    except ServeError as error:
        raise CliError(str(error), 2) from None
    quiet_moto()
    config = example_config() if examples else None
    parameters = {"LogLevel": "WARNING", **({"LabourerArns": labourer_arns(config)} if config else {})}
    stop = threading.Event()
    with (
        # stdout carries the one JSON line; what the Lambda steps print (logs, embedded-format metrics) goes to stderr
        redirect_stdout(sys.stderr),
        _local_credentials(),
        _stop_on_sigterm(stop),
        serving(host, port, parameters=parameters) as (endpoint, deployment, runtime),
    ):

        def client(service: str) -> Any:
            return boto3.client(
                service,
                region_name=REGION,
                endpoint_url=endpoint,
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )

        labourers: list[str] = []
        functions: dict[str, str] = {}
        if config is not None:
            location = str(deployment.outputs["ConfigLocation"])
            client("ssm").put_parameter(
                Name=location.removeprefix("ssm:"),
                Value=json.dumps(example_config_dict()),
                Type="String",
                Overwrite=True,
            )
            lambda_client = client("lambda")
            store = TaskStore(client("dynamodb"), config.tables, delta=config.greenfield_invocation_delta)
            complete, _ = completer_for(deployment.outputs, config, lambda_client=lambda_client, store=store)

            def add_function(name: str, handler: Any) -> str:
                arn: str = lambda_client.create_function(
                    FunctionName=name,
                    Runtime="python3.12",
                    Role=deployment.role_arn(),
                    Handler="app.handler",
                    Code={"ZipFile": _empty_zip()},
                    Timeout=60,
                )["FunctionArn"]
                runtime.add_callable(name, handler)
                functions[name] = arn
                return arn

            def complete_now(labourer_id: str, event: dict[str, Any], result: Any) -> None:
                complete(labourer_id, event, result)  # as the labourer's OnSuccess destination would, at once

            register_example_labourers(config, add_function, complete_now)
            labourers = [labourer.id for labourer in config.labourers]
            databases = [SimulatedDatabase.for_config(config)]
            tracked = tracked_database(config)  # invoices-db: the target-tracking labourer's database
            if tracked is not None:
                databases.append(tracked)

            def publish_metrics() -> None:
                cloudwatch = client("cloudwatch")
                while not stop.is_set():
                    now = time.time()
                    for database in databases:
                        watched = config.labourer(database.labourer_id)
                        running = store.count_running(watched.id, markers_at(config, watched, now))
                        database.publish(cloudwatch, running, at=now)
                    stop.wait(METRIC_INTERVAL_SECONDS)

            for database in databases:
                database.publish(client("cloudwatch"), 0, at=time.time())
            threading.Thread(target=publish_metrics, name="databases", daemon=True).start()

        out.write(json.dumps(describe(endpoint, deployment, labourers=labourers, functions=functions)) + "\n")
        out.flush()
        try:
            stop.wait(for_seconds)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
    return 0


def _empty_zip() -> bytes:
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("README.txt", "runs in-process in `foreman local serve`")
    return archive.getvalue()
