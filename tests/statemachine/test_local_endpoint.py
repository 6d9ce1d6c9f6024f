"""The embedded stack as a long-running local endpoint: any AWS client on loopback drives the real Orchestrator."""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any

import boto3

from foreman.local.stack import serving
from foreman_core.config import Tables
from foreman_core.task_store import TaskStore
from tests.statemachine.conftest import FakeLabourer, labourer_config


def test_a_plain_boto3_client_runs_the_orchestrator_through_the_endpoint() -> None:
    with serving(parameters={"LogLevel": "WARNING"}) as (endpoint, deployment, runtime):
        assert endpoint.startswith("http://127.0.0.1:")

        def client(service: str) -> Any:
            return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")

        fake = FakeLabourer()
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("app.py", "")
        arn = client("lambda").create_function(
            FunctionName="worker-a",
            Runtime="python3.12",
            Role=deployment.role_arn(),
            Handler="app.handler",
            Code={"ZipFile": archive.getvalue()},
        )["FunctionArn"]
        runtime.add_callable("worker-a", fake)
        client("ssm").put_parameter(
            Name="/foreman/orchestrator_config",
            Type="String",
            Value=json.dumps({"task_config": {"labourers": {"worker-a": labourer_config(arn, 3)}}}),
        )
        TaskStore(client("dynamodb"), Tables()).create_tasks("worker-a", [{"n": i} for i in range(5)])

        sfn = client("stepfunctions")
        execution = sfn.start_execution(stateMachineArn=deployment.outputs["OrchestratorArn"], input="{}")

        def ended(arn: str) -> dict[str, Any]:
            deadline = time.monotonic() + 60
            while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert described["status"] == "SUCCEEDED", described
            return dict(described)

        # the Orchestrator hands the run to its Invocations execution, whose output is the run's report
        handed = json.loads(ended(execution["executionArn"])["output"])
        assert handed["invocations"].startswith(
            deployment.outputs["InvocationsArn"].replace(":stateMachine:", ":execution:")
        )
        described = ended(handed["invocations"])
        (line,) = json.loads(described["output"])["labourers"].values()
        assert (line["desired"], line["invoked"]) == (3, 3)
        assert len(fake.events) == 3
