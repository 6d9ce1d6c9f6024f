"""``foreman run`` on an Express Orchestrator: AWS has no DescribeExecution for it, so the CLI runs it with
StartSyncExecution, and says so. The endpoint is the embedded stack served in this process, deployed with
``OrchestratorType=EXPRESS``; it refuses DescribeExecution on an Express execution as AWS does."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from foreman import cli
from foreman.local.stack import labourer, serving
from foreman_core.config import Tables
from foreman_core.task_store import TaskStore


@pytest.fixture(scope="module")
def served_express() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "local")
        env.setenv("AWS_SECRET_ACCESS_KEY", "local")
        with serving(parameters={"OrchestratorType": "EXPRESS"}) as (endpoint, deployment, runtime):
            lambda_client = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1")
            arn = lambda_client.create_function(
                FunctionName="worker",
                Runtime="python3.12",
                Role=deployment.role_arn(),
                Handler="app.handler",
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            )["FunctionArn"]
            runtime.add_callable("worker", labourer(lambda event: None))
            config = {"task_config": {"labourers": {"worker": {"arn": arn, "max_simultaneous_invocations": 3}}}}
            boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1").put_parameter(
                Name="/foreman/orchestrator_config", Value=json.dumps(config), Type="String", Overwrite=True
            )
            yield endpoint


@pytest.fixture
def express_endpoint(served_express: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The served stack's URL; its Lambda steps (run in this process) reach it through AWS_ENDPOINT_URL, which the
    tests' fake AWS environment otherwise removes."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", served_express)
    return served_express


def test_run_on_an_express_orchestrator_runs_it_synchronously_and_says_so(
    capsys: pytest.CaptureFixture[str], express_endpoint: str
) -> None:
    store = TaskStore(boto3.client("dynamodb", endpoint_url=express_endpoint, region_name="us-east-1"), Tables())
    store.create_tasks("worker", [{"n": n} for n in range(5)])

    code = cli.main(["run", "--endpoint-url", express_endpoint])

    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if not line.startswith("{")]  # the steps' own logs print here too
    assert (code, err) == (0, "")
    assert (
        lines[0] == "Express Orchestrator: running it synchronously (StartSyncExecution), the only way to read its end"
    )
    assert lines[1].startswith("ran arn:aws:states:us-east-1:123456789012:execution:foreman-Orchestrator:")
    assert lines[1].endswith(" MB)")
    assert "billed " in lines[1]
    # the Express run handed its tasks to its (Standard) Invocations execution: waited for, its report printed
    assert lines[2].startswith("handed over to arn:aws:states:us-east-1:123456789012:execution:foreman-invocations:")
    assert lines[3].startswith("SUCCEEDED in ")
    assert lines[5].split()[:8] == ["worker", "4", "High", "-", "0", "3", "3", "3"]
    assert store.queue_length("worker") == 2


def test_run_no_wait_on_an_express_orchestrator_says_where_the_run_is_read(
    capsys: pytest.CaptureFixture[str], express_endpoint: str
) -> None:
    code = cli.main(["run", "--endpoint-url", express_endpoint, "--no-wait"])

    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[0].startswith("arn:aws:states:us-east-1:123456789012:execution:foreman-Orchestrator:")
    assert "an Express execution cannot be described (AWS has no DescribeExecution for it)" in err


def test_local_serve_deploys_an_express_orchestrator_on_request() -> None:
    import os
    import subprocess
    import sys

    from foreman.local.stack import PROJECT_ROOT

    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    command = ["local", "serve", "--port", "0", "--no-examples", "--for-seconds", "0.5", "--orchestrator-type"]
    done = subprocess.run(
        [sys.executable, "-m", "foreman.cli", *command, "EXPRESS"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["outputs"]["OrchestratorType"] == "EXPRESS"
