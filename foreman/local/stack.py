"""The embedded stack: Foreman's real template, state machine and handlers on moto, with no AWS account.

``EmbeddedStack`` starts moto with Step Functions execution on, routes Lambda invokes to real Python
(``LambdaRuntime``), deploys ``template.yaml`` (``Deployment``) and registers each function's handler from its
``CodeUri``. It serves the tests, the demo (``foreman local demo``) and, with ``serve()``, a long-running local
endpoint any AWS client can use (``foreman local serve``). It never ships to Lambda.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from foreman.config_store import store_config
from foreman.local.aborts import stopped_executions
from foreman.local.deployer import ACCOUNT, REGION, Deployment
from foreman.local.distributed_map import distributed_maps, map_run_children
from foreman.local.kms_grants import config_key_grants
from foreman.local.lambda_runtime import Handler, LambdaRuntime
from foreman.local.patches import strict_patches
from foreman.local.patches.express_workflows import backend_execution, machine_type
from foreman.local.patches.history_limit import HISTORY_EVENT_LIMIT
from foreman.local.redrive import redrivable_executions
from foreman.project_files import project_root

PROJECT_ROOT = str(project_root())
"""Where template.yaml, statemachine/, functions/ and examples/ are: the source tree, or an installed package's data."""
TEMPLATE = os.path.join(PROJECT_ROOT, "template.yaml")
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
DEFAULT_LABOURER_ARNS = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:*"
"""Unless a test or the demo names its labourers, the local stack may invoke any function of its account and region
(LoadConfig still refuses one elsewhere), so a labourer created on the local endpoint works without redeploying."""
LOCAL_PARAMETERS = {"LabourerArns": DEFAULT_LABOURER_ARNS, "ConfigCacheSeconds": "0"}
"""Locally a config change applies to the next run at once (on AWS, within ConfigCacheSeconds)."""
LOCAL_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "FOREMAN_CLOCK_FROM_INPUT": "true",
    "CLAIM_WINDOW_SECONDS": "600",
}
"""Every function's environment on top of the template's: there is no X-Ray daemon to send trace segments to; a run
may take its clock from its input (the demo's accelerated time, replays: never on AWS, ``run_clock``); and the claim
window is longer than on AWS, because the emulator runs a claim many times slower than the service (a test of the
deadline sets it short)."""


STATE_LIMIT_BYTES = 256 * 1024
"""The most a state's input or output may hold, in either workflow type (``States.DataLimitExceeded`` above it)."""


class ExecutionFailedError(RuntimeError):
    """An execution ended other than SUCCEEDED; ``execution`` holds ``describe_execution``'s answer."""

    def __init__(self, execution: Mapping[str, Any]) -> None:
        self.execution = dict(execution)
        super().__init__(
            f"execution {execution.get('executionArn')} ended {execution.get('status')}: "
            f"{execution.get('error')}: {execution.get('cause')}"
        )


@dataclass
class Execution:
    """A finished execution: its status, output (parsed JSON) and full event history."""

    arn: str
    status: str
    output: Any
    history: list[dict[str, Any]]
    seconds: float
    invocations: str | None = None
    """The run's Invocations execution, when ``wait`` followed an Orchestrator run to it (``output`` and ``status`` are
    then its own, and ``history`` is the Orchestrator's, the Invocations execution's and every child's, in order)."""
    parts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Each execution's own history by its ARN, when ``wait`` followed a run: the Orchestrator's, its Invocations
    execution's and each child's."""

    @property
    def events(self) -> int:
        """How many history events it produced (a Standard execution may have at most 25,000)."""
        return len(self.history)

    def state_transitions(self) -> int:
        """How many states were entered, as AWS bills them (one per state entered)."""
        return sum(1 for event in self.history if event["type"].endswith("StateEntered"))

    def largest_state_bytes(self, *, compact: bool = False) -> int:
        """The largest input or output a state had (UTF-8 bytes), against ``STATE_LIMIT_BYTES`` (256 KiB), as the
        embedded stack wrote it (with a space after each ``:`` and ``,``: what its limit is checked on). ``compact``:
        as compact JSON, the form Step Functions returns states in (a task's raw result included)."""
        sizes = [0]
        for event in self.history:
            for details in event.values():
                if isinstance(details, Mapping):
                    for key in ("input", "output"):
                        text = details.get(key)
                        if isinstance(text, str):
                            sizes.append(len((_compact(text) if compact else text).encode()))
        return max(sizes)


def _compact(text: str) -> str:
    try:
        return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return text


def quiet_moto() -> None:
    """moto logs every failed state with its whole parse tree; Foreman reports failures itself."""
    for name in ("moto", "werkzeug"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@dataclass
class EmbeddedStack:
    """Foreman deployed on in-process moto. Use as a context manager.

    ``parameters`` override the template's Parameters (``LabourerArns`` defaults to every function of the local
    account and region).
    ``fast`` skips the sleeps of Retry intervals and Wait states. ``history_events``: where a Standard execution's
    history ends (25,000 as on AWS; a test may lower it to meet the limit in a fraction of the time).
    """

    parameters: Mapping[str, Any] = field(default_factory=dict)
    template: str = TEMPLATE
    fast: bool = True
    history_events: int = HISTORY_EVENT_LIMIT
    runtime: LambdaRuntime = field(default_factory=LambdaRuntime)
    deployment: Deployment = field(init=False)
    _exit: ExitStack = field(init=False, default_factory=ExitStack)
    _clients: dict[str, Any] = field(init=False, default_factory=dict)

    def __enter__(self) -> EmbeddedStack:
        from moto import mock_aws

        quiet_moto()
        os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
        # an AWS_ENDPOINT_URL exported for `foreman local serve` (as the README does) would send the in-process
        # stack's own clients to that endpoint instead of to moto
        endpoints = tuple(name for name in os.environ if name.startswith("AWS_ENDPOINT_URL"))
        try:
            self._exit.enter_context(environment({}, unset=endpoints))
            self._exit.enter_context(mock_aws(config=MOTO_CONFIG))  # type: ignore[call-overload]
            self._exit.enter_context(emulation(self.runtime, fast=self.fast, history_events=self.history_events))
            self.deployment = deploy(self.template, self.client, self.runtime, self.parameters)
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    # -- clients and outputs --------------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client on the embedded stack (one per service, reused)."""
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=REGION)
        return self._clients[service]

    @property
    def outputs(self) -> dict[str, Any]:
        """The template's Outputs, resolved (state machine ARN, table names, function ARNs...)."""
        return self.deployment.outputs

    @property
    def parameter_values(self) -> dict[str, Any]:
        """Every template parameter's value in this deployment (defaults and overrides)."""
        declared = self.deployment.template.get("Parameters", {})
        return {name: self.deployment.physical[name] for name in declared}

    # -- setting the stage ----------------------------------------------------------------------------------------

    def put_config(self, config: Mapping[str, Any] | str) -> None:
        """Store the orchestrator config where the deployed LoadConfig reads it (the SSM parameter by default; the S3
        object when deployed with ConfigBucketName: ``create_config_bucket`` first). A config too large for the
        place raises ``config_store.ConfigTooLargeError``, as ``foreman config put`` does on AWS."""
        text = config if isinstance(config, str) else json.dumps(config)
        store_config(self.client, str(self.outputs["ConfigLocation"]), text)

    def create_config_bucket(self, *, versioned: bool = True) -> str:
        """Create the bucket the deployment's ``ConfigBucketName`` names, as a user does before deploying with it
        (the template reads the config there but does not own the bucket); ``versioned`` enables versioning, so a
        run reads back the version its LoadConfig read. Returns the bucket's name."""
        bucket = str(self.parameter_values.get("ConfigBucketName") or "")
        if not bucket:
            raise ValueError("this stack was deployed without ConfigBucketName: its config is not in S3")
        self.client("s3").create_bucket(Bucket=bucket)
        if versioned:
            self.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        return bucket

    def add_function(self, name: str, handler: Handler, *, timeout: int = 60) -> str:
        """Create a Lambda function ``name`` whose code is the Python callable ``handler``; returns its ARN."""
        import io
        import zipfile

        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("README.txt", "runs in-process")
        arn: str = self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.deployment.role_arn(),
            Handler="app.handler",
            Code={"ZipFile": archive.getvalue()},
            Timeout=timeout,
        )["FunctionArn"]
        self.runtime.add_callable(name, handler)
        return arn

    # -- running --------------------------------------------------------------------------------------------------

    def start(self, state_machine: str = "OrchestratorArn", execution_input: Mapping[str, Any] | None = None) -> str:
        """Start an execution of the state machine named by an output (default the Orchestrator); its ARN."""
        response = self.client("stepfunctions").start_execution(
            stateMachineArn=self.outputs[state_machine], input=json.dumps(execution_input or {})
        )
        arn: str = response["executionArn"]
        return arn

    def wait(self, execution_arn: str, *, timeout: float = 600.0, check: bool = True, follow: bool = True) -> Execution:
        """Wait for an execution to end; its status, output and history. ``check``: raise unless SUCCEEDED.

        ``follow``: an Orchestrator run that handed its tasks to its Invocations execution (its output names it) is
        waited for to its end: the result is then the whole run's (see ``Execution.invocations``).

        A Standard execution is read through the API (DescribeExecution, GetExecutionHistory). An Express one has no
        such API, on AWS nor here: its history is what its log group holds at level ``ALL`` with execution data (the
        template's logging for Express), which the embedded stack reads from moto's own record of the execution."""
        began = time.monotonic()
        first = self._wait_one(execution_arn, timeout=timeout, check=check)
        handed = first.output.get("invocations") if isinstance(first.output, Mapping) else None
        if not follow or not isinstance(handed, str) or ":execution:" not in handed:
            return first
        second = self._wait_one(handed, timeout=timeout, check=check)
        parts = {first.arn: first.history, second.arn: second.history}
        sfn = self.client("stepfunctions")
        for map_run in sfn.list_map_runs(executionArn=handed).get("mapRuns", []):
            for child in map_run_children(map_run["mapRunArn"]):
                parts[child.exec_arn] = [dict(event) for event in child.to_history_output()["events"]]
        return Execution(
            arn=execution_arn,
            status=second.status,
            output=second.output,
            history=[event for events in parts.values() for event in events],
            seconds=time.monotonic() - began,
            invocations=handed,
            parts=parts,
        )

    def _wait_one(self, execution_arn: str, *, timeout: float, check: bool) -> Execution:
        express = self.is_express(execution_arn)
        began = time.monotonic()
        while True:
            description = self._describe(execution_arn, express=express)
            if description["status"] != "RUNNING":
                break
            if time.monotonic() - began > timeout:
                raise TimeoutError(f"execution {execution_arn} still running after {timeout} s")
            time.sleep(0.02)
        if check and description["status"] != "SUCCEEDED":
            raise ExecutionFailedError(description)
        history = self._history(execution_arn, express=express)
        output = json.loads(description["output"]) if description.get("output") else None
        return Execution(
            arn=execution_arn,
            status=description["status"],
            output=output,
            history=history,
            seconds=time.monotonic() - began,
        )

    def is_express(self, execution_arn: str) -> bool:
        """Whether the execution belongs to an Express state machine."""
        return machine_type(backend_execution(execution_arn).state_machine_arn) == "EXPRESS"

    def _describe(self, execution_arn: str, *, express: bool) -> dict[str, Any]:
        if not express:
            return dict(self.client("stepfunctions").describe_execution(executionArn=execution_arn))
        record = backend_execution(execution_arn)
        description: dict[str, Any] = {"executionArn": execution_arn, "status": record.status}
        if record.status == "SUCCEEDED":
            output = record.output
            description["output"] = output if isinstance(output, str) else json.dumps(output)
        for key in ("error", "cause"):
            if getattr(record, key, None) is not None:
                description[key] = getattr(record, key)
        return description

    def _history(self, execution_arn: str, *, express: bool) -> list[dict[str, Any]]:
        if express:
            return [dict(event) for event in backend_execution(execution_arn).to_history_output()["events"]]
        history: list[dict[str, Any]] = []
        sfn = self.client("stepfunctions")
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            history.extend(page["events"])
        return history

    def run(
        self, execution_input: Mapping[str, Any] | None = None, *, state_machine: str = "OrchestratorArn"
    ) -> Execution:
        """Start an execution and wait for it (raising ``ExecutionFailedError`` unless it succeeds)."""
        return self.wait(self.start(state_machine, execution_input))


@contextmanager
def environment(values: Mapping[str, str], *, unset: tuple[str, ...] = ()) -> Iterator[None]:
    """Set ``values`` and remove ``unset`` in ``os.environ`` for the block; afterwards every name is as it was."""
    names = [*values, *unset]
    saved = {name: os.environ.get(name) for name in names}
    for name in unset:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def emulation(runtime: LambdaRuntime, *, fast: bool, history_events: int = HISTORY_EVENT_LIMIT) -> Iterator[None]:
    """Everything that makes moto behave as AWS does for Foreman (``foreman.local.patches``), and real handlers behind
    Lambda. ``fast`` also skips the sleeps of Retry intervals and Wait states; ``history_events`` is where a Standard
    execution's history ends."""
    with ExitStack() as stack:
        stack.enter_context(runtime.patched())
        emulated = (stopped_executions(), distributed_maps(), redrivable_executions(), config_key_grants())
        for patch in (*strict_patches(history_events=history_events, fast=fast), *emulated):
            stack.enter_context(patch)
        yield


def deploy(
    template: str, clients: Callable[[str], Any], runtime: LambdaRuntime, parameters: Mapping[str, Any]
) -> Deployment:
    """Deploy ``template`` through ``clients`` with the local parameters and environment, and register every
    function's handler with ``runtime``. A new deployment is a cold start for every function."""
    from foreman_core import config_source

    config_source.clear_cache()
    deployment = Deployment(
        template, clients=clients, parameters={**LOCAL_PARAMETERS, **parameters}, environment=LOCAL_ENVIRONMENT
    ).deploy()
    for name, (code_dir, handler) in deployment.code.items():
        runtime.add_code(name, code_dir, handler)
    return deployment


@contextmanager
def serving(
    host: str = "127.0.0.1", port: int = 0, *, parameters: Mapping[str, Any] | None = None
) -> Iterator[tuple[str, Deployment, LambdaRuntime]]:
    """The embedded stack as a long-running AWS endpoint on loopback: yields (endpoint URL, deployment, runtime).

    Any AWS client pointed at the endpoint (boto3 ``endpoint_url``, the AWS CLI ``--endpoint-url``, sosw with
    ``AWS_ENDPOINT_URL``) sees Foreman's tables, functions and state machine. Lambda steps run in this process.
    """
    import moto.core.config
    from moto.server import ThreadedMotoServer

    runtime = LambdaRuntime()
    saved_config = copy.deepcopy(moto.core.config.default_user_config)
    moto.core.config.default_user_config.update(MOTO_CONFIG)  # type: ignore[typeddict-item]
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    try:
        bound_host, bound_port = server.get_host_and_port()
        endpoint = f"http://{bound_host}:{bound_port}"
        # moto's interpreter calls Lambda and DynamoDB on MOTO_PORT, and so do the handlers' boto3 clients
        with (
            environment({"MOTO_PORT": str(bound_port), "AWS_ENDPOINT_URL": endpoint}),
            emulation(runtime, fast=False),
        ):

            def clients(service: str) -> Any:
                return boto3.client(service, region_name=REGION, endpoint_url=endpoint)

            yield endpoint, deploy(TEMPLATE, clients, runtime, parameters or {}), runtime
    finally:
        server.stop()
        # moto's process-wide defaults as they were: a later mock_aws() in this process gets its own backends
        moto.core.config.default_user_config.clear()  # type: ignore[attr-defined]
        moto.core.config.default_user_config.update(saved_config)


def labourer(fn: Callable[[dict[str, Any]], Any]) -> Handler:
    """Adapt ``fn(event)`` to a Lambda handler ``(event, context)``."""

    def handler(event: Any, context: Any) -> Any:
        return fn(event)

    return handler
