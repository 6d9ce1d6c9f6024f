"""A small bench for behaviour tests of the embedded stack's Step Functions on hand-written ASL.

``AslBench`` is moto with every patch of the embedded stack (``stack.emulation``) and no template deployed: a test
creates its own state machines and Lambda functions (Python callables), runs executions and reads them through the
Step Functions API, as it would on AWS.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from foreman.local.deployer import REGION
from foreman.local.lambda_runtime import Handler, LambdaRuntime
from foreman.local.patches.history_limit import HISTORY_EVENT_LIMIT

FINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass
class AslBench:
    """Clients on the embedded stack's moto, and helpers to run hand-written state machines."""

    runtime: LambdaRuntime = field(default_factory=LambdaRuntime)
    role: str = ""
    _count: int = 0

    def client(self, service: str) -> Any:
        """A boto3 client on the in-process moto."""
        return boto3.client(service, region_name=REGION)

    @property
    def sfn(self) -> Any:
        return self.client("stepfunctions")

    def machine(self, definition: dict[str, Any], *, kind: str = "STANDARD", name: str | None = None) -> str:
        """Create a state machine of ``definition``; its ARN."""
        self._count += 1
        arn: str = self.sfn.create_state_machine(
            name=name or f"machine{self._count}", definition=json.dumps(definition), roleArn=self.role, type=kind
        )["stateMachineArn"]
        return arn

    def function(self, name: str, handler: Handler) -> str:
        """Create Lambda function ``name`` whose code is ``handler(event, context)``; its ARN."""
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("README.txt", "runs in-process")
        arn: str = self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role,
            Handler="app.handler",
            Code={"ZipFile": archive.getvalue()},
        )["FunctionArn"]
        self.runtime.add_callable(name, handler)
        return arn

    def start(self, machine_arn: str, execution_input: Any = None, *, name: str | None = None) -> str:
        """Start an execution; its ARN."""
        arguments: dict[str, Any] = {"stateMachineArn": machine_arn, "input": json.dumps(execution_input or {})}
        if name:
            arguments["name"] = name
        arn: str = self.sfn.start_execution(**arguments)["executionArn"]
        return arn

    def wait(self, execution_arn: str, *, timeout: float = 60.0) -> dict[str, Any]:
        """DescribeExecution once the execution has ended."""
        began = time.monotonic()
        while True:
            description: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
            if description["status"] in FINAL:
                return description
            if time.monotonic() - began > timeout:
                raise TimeoutError(f"{execution_arn} still {description['status']} after {timeout} s")
            time.sleep(0.02)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's whole history (GetExecutionHistory, every page)."""
        events: list[dict[str, Any]] = []
        for page in self.sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events

    def run(self, machine_arn: str, execution_input: Any = None) -> dict[str, Any]:
        """Start an execution and wait for its end."""
        return self.wait(self.start(machine_arn, execution_input))


@contextmanager
def asl_bench(*, fast: bool = True, history_events: int = HISTORY_EVENT_LIMIT) -> Iterator[AslBench]:
    """moto with the embedded stack's patches (``fast``: no sleeps in Retry and Wait), and a role for functions."""
    from moto import mock_aws

    from foreman.local.stack import MOTO_CONFIG, emulation, quiet_moto

    quiet_moto()
    bench = AslBench()
    with ExitStack() as stack:
        stack.enter_context(mock_aws(config=MOTO_CONFIG))  # type: ignore[call-overload]
        stack.enter_context(emulation(bench.runtime, fast=fast, history_events=history_events))
        bench.role = bench.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        yield bench
