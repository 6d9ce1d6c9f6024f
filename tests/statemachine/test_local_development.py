"""Local development with your own labourers on ``foreman local serve``: your code, your config, on a schedule.

Each test drives the real command (a subprocess, as a user starts it) or the endpoint it serves (``serving()``), and
the real Orchestrator and Scavenger from ``template.yaml`` on it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from foreman import cli
from foreman.local.stack import PROJECT_ROOT, EmbeddedStack, serving
from foreman_core.config import Tables
from foreman_core.greenfield import RunMarkers
from foreman_core.task_store import TaskStore
from tests import serve_process
from tests.statemachine.conftest import labourer_config, report_for

EXAMPLE = Path(PROJECT_ROOT) / "docs" / "examples" / "local-development"
"""The example of docs/local-development.md: a labourer folder, its config and tasks."""


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:g} s: {what}")
        time.sleep(0.2)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_your_labourer_runs_your_code_on_the_schedule_with_no_foreman_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = tmp_path / "labourer"
    shutil.copytree(EXAMPLE / "labourer", code)  # the docs' example, where its output folder can be written
    config = EXAMPLE / "config.json"
    foreign_arn = json.loads(config.read_text())["task_config"]["labourers"]["shouter"]["arn"]
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"text": f"task {n}"}) + "\n" for n in range(20)))

    with serve_process.served(
        "--no-examples",
        "--labourer",
        f"shouter={code}:app.handler",
        "--config",
        str(config),
        "--every",
        "2",
        stderr=tmp_path / "stderr.log",
    ) as running:
        line = running.line
        local_arn = "arn:aws:lambda:us-east-1:123456789012:function:shouter"
        assert line["arn_mapping"] == {foreign_arn: local_arn}
        assert line["labourers"] == ["shouter"]
        assert line["functions"]["shouter"] == local_arn
        assert line["schedules"] == {
            "Orchestrator": {"expression": "every 2 s (--every)", "every_seconds": 2.0},
            "Scavenger": {"expression": "every 2 s (--every)", "every_seconds": 2.0},
        }
        endpoint = line["endpoint"]
        create = ["tasks", "create", "--endpoint-url", endpoint, "--labourer", "shouter", "--file", str(tasks)]
        assert cli.main(create) == 0
        assert "created 20 tasks for shouter" in capsys.readouterr().out

        out = code / "out"
        wait_for(
            lambda: out.is_dir() and len(list(out.iterdir())) == 20,
            timeout=120,
            what=f"the handler wrote {len(list(out.iterdir())) if out.is_dir() else 0} of 20 files",
        )  # with no `foreman run`: the schedule ran the Orchestrator
        assert sorted(path.read_text() for path in out.iterdir()) == sorted(f"TASK {n}!" for n in range(20))
        # the outcome went to TaskDestination: every task completed, then archived by the scheduled Scavenger
        wait_for(
            lambda: get_json(line["console"] + "api/queues/shouter")["labourer"]["closed_completed"] == 20,
            timeout=60,
            what="the scheduled Scavenger archived the 20 completed tasks",
        )
        assert "shouter | shouter: task " in running.stderr_text()  # the handler's print, prefixed by its name


def _zip(files: dict[str, str]) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, text in files.items():
            bundle.writestr(name, text)
    return archive.getvalue()


def create_zip_function(
    stack: EmbeddedStack, name: str, files: dict[str, str], *, runtime: str = "python3.12", handler: str = "app.handler"
) -> str:
    """Create function ``name`` from a zip of ``files`` through the Lambda API, as the AWS CLI would; its ARN."""
    arn: str = stack.client("lambda").create_function(
        FunctionName=name, Runtime=runtime, Role=stack.deployment.role_arn(), Handler=handler,
        Code={"ZipFile": _zip(files)},
    )["FunctionArn"]  # fmt: skip
    return arn


WRITER = """
import os
from pathlib import Path

from version import VERSION  # at the zip's root, which Lambda puts on sys.path


def handler(event, context):
    Path(os.environ["OUT_DIR"], event["task_id"]).write_text(VERSION + " " + context.function_name)
    return {"ok": True}
"""


def test_a_zip_deployed_through_the_lambda_api_runs_its_own_code(tmp_path: Path) -> None:
    with serving(parameters={"LogLevel": "WARNING"}) as (endpoint, deployment, _):

        def client(service: str) -> Any:
            return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")

        lambda_client = client("lambda")
        arn = lambda_client.create_function(
            FunctionName="zipped",
            Runtime="python3.12",
            Role=deployment.role_arn(),
            Handler="src/app.handler",  # a handler in a folder of the zip, as Lambda allows
            Code={"ZipFile": _zip({"src/app.py": WRITER, "version.py": "VERSION = 'v1'"})},
            Environment={"Variables": {"OUT_DIR": str(tmp_path)}},
        )["FunctionArn"]
        client("ssm").put_parameter(
            Name="/foreman/orchestrator_config",
            Type="String",
            Value=json.dumps({"task_config": {"labourers": {"zipped": labourer_config(arn, 5)}}}),
        )
        store = TaskStore(client("dynamodb"), Tables())
        first = [task.task_id for task in store.create_tasks("zipped", [{"n": n} for n in range(3)])]
        sfn = client("stepfunctions")

        def ended(arn: str) -> dict[str, Any]:
            wait_for(
                lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING",
                timeout=60,
                what=f"execution {arn} ended",
            )
            described = sfn.describe_execution(executionArn=arn)
            assert described["status"] == "SUCCEEDED", described
            return dict(json.loads(described["output"]))

        def run() -> dict[str, Any]:
            execution = sfn.start_execution(stateMachineArn=deployment.outputs["OrchestratorArn"], input="{}")
            output = ended(execution["executionArn"])
            # the Orchestrator hands a run with tasks to its Invocations execution, whose output is the report
            (report,) = ended(output["invocations"])["labourers"].values()
            return dict(report)

        assert run()["invoked"] == 3
        assert {path.name: path.read_text() for path in tmp_path.iterdir()} == dict.fromkeys(first, "v1 zipped")

        lambda_client.update_function_code(
            FunctionName="zipped", ZipFile=_zip({"src/app.py": WRITER, "version.py": "VERSION = 'v2'"})
        )
        second = [task.task_id for task in store.create_tasks("zipped", [{"n": n} for n in range(2)])]
        assert run()["invoked"] == 2
        assert {t: (tmp_path / t).read_text() for t in second} == dict.fromkeys(second, "v2 zipped")


BROKEN = {
    "no module": ("python3.12", "app.handler", {"other.py": ""}, "Runtime.ImportModuleError",
                  "Unable to import module 'app': No module named 'app'"),
    "missing dependency": ("python3.12", "app.handler", {"app.py": "import not_installed_anywhere\n"},
                           "Runtime.ImportModuleError", "Unable to import module 'app': No module named"),
    "no handler": ("python3.12", "app.handler", {"app.py": "def other(event, context): pass\n"},
                   "Runtime.HandlerNotFound", "Handler 'handler' missing on module 'app'"),
    "syntax error": ("python3.12", "app.handler", {"app.py": "def handler(event, context)\n"},
                     "Runtime.UserCodeSyntaxError", "Syntax error in module 'app'"),
    "malformed handler": ("python3.12", "handler", {"app.py": ""}, "Runtime.MalformedHandlerName",
                          "Bad handler 'handler'"),
}  # fmt: skip


def test_code_that_cannot_run_fails_the_invoke_with_lambdas_own_error_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with EmbeddedStack(parameters={"LogLevel": "WARNING"}) as stack:
        lambda_client = stack.client("lambda")
        for name, (runtime, handler, files, error_type, message) in BROKEN.items():
            function = name.replace(" ", "-")
            create_zip_function(stack, function, files, runtime=runtime, handler=handler)
            response = lambda_client.invoke(FunctionName=function, Payload=b"{}")
            body = json.loads(response["Payload"].read())
            assert response.get("FunctionError") == "Unhandled", name
            assert body["errorType"] == error_type, (name, body)
            assert body["errorMessage"].startswith(message), (name, body)

        create_zip_function(
            stack,
            "in-node",
            {"index.js": "exports.handler = async () => 1;"},
            runtime="nodejs20.x",
            handler="index.handler",
        )
        capsys.readouterr()
        # Lambda's API answers InvalidRuntimeException with HTTP 502 (its status in the service model), a status
        # boto3 retries against AWS too: every attempt reaches the runtime and is refused, none runs anything
        status = lambda_client.meta.service_model.shape_for("InvalidRuntimeException").metadata["error"]
        for invocation_type in ("RequestResponse", "Event"):
            stack.runtime.invocations.clear()
            with pytest.raises(ClientError) as refused:
                lambda_client.invoke(FunctionName="in-node", InvocationType=invocation_type, Payload=b"{}")
            response = refused.value.response
            assert response["Error"]["Code"] == "InvalidRuntimeException"
            assert "nodejs20.x" in response["Error"]["Message"]
            assert "Python functions" in response["Error"]["Message"]
            assert response["ResponseMetadata"]["HTTPStatusCode"] == status["httpStatusCode"] == 502
            attempts = response["ResponseMetadata"]["RetryAttempts"] + 1
            calls = stack.runtime.calls("in-node")
            assert [(call.invocation_type, call.error) for call in calls] == [
                ("refused", "InvalidRuntimeException")
            ] * attempts, invocation_type

        # the retries are not silent: the first refusal of the function's runtime says why, once
        explained = [line for line in capsys.readouterr().err.splitlines() if line.startswith("in-node | ")]
        assert len(explained) == 1, explained
        assert "runtime nodejs20.x" in explained[0]
        assert "only Python functions (python3.x) run locally" in explained[0]


def test_the_orchestrator_spends_the_attempt_of_a_task_whose_labourer_cannot_run_here() -> None:
    with EmbeddedStack(parameters={"LogLevel": "WARNING"}) as stack:
        arn = create_zip_function(stack, "in-node", {"index.js": ""}, runtime="nodejs20.x", handler="index.handler")
        stack.put_config({"task_config": {"labourers": {"in-node": labourer_config(arn, 2)}}})
        store = TaskStore(stack.client("dynamodb"), Tables())
        store.create_tasks("in-node", [{}])

        report = report_for(stack.run().output, "in-node")

        # Step Functions' Lambda integration does not retry the 502: one attempt reached Lambda, refused
        assert [(call.invocation_type, call.error) for call in stack.runtime.calls("in-node")] == [
            ("refused", "InvalidRuntimeException")
        ]

        # Lambda refuses the invoke for good (a runtime it cannot run): the attempt is spent and recorded as failed,
        # so the Scavenger retries it after its delay or closes it as dead, never a task released for ever
        assert (report["invoked"], report.get("released", 0), report["failed"]) == (0, 0, 1)
        assert report["errors"] == {"Lambda.InvalidRuntimeException": 1}
        (failed,) = store.failed_tasks("in-node", RunMarkers.at(time.time(), duration=900, cooldown=300))
        assert failed.attributes["result_error"] == "Lambda.InvalidRuntimeException"


def test_a_labourers_exception_is_on_stderr_and_fails_its_task_as_lambda_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve_process.served("--no-schedule", stderr=tmp_path / "stderr.log") as running:
        endpoint, console = running.line["endpoint"], running.line["console"]
        # the README's own example: the reports labourer needs a "customer" in its payload
        assert (
            cli.main(["tasks", "create", "--endpoint-url", endpoint, "--labourer", "reports", "--payload", "{}"]) == 0
        )
        assert cli.main(["run", "--endpoint-url", endpoint]) == 0
        capsys.readouterr()

        wait_for(lambda: "reports | [ERROR] KeyError" in running.stderr_text(), timeout=10, what="the error on stderr")
        assert "reports | Traceback (most recent call last):" in running.stderr_text()
        queue = get_json(console + "api/queues/reports")
        (failed,) = queue["tasks"]["failed"]  # TaskDestination recorded the OnFailure record on the task
        assert failed["result_error_type"] == "KeyError"

        sfn = boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1")
        execution = sfn.start_execution(stateMachineArn=running.line["state_machines"]["Scavenger"], input="{}")
        wait_for(
            lambda: sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "SUCCEEDED",
            timeout=60,
            what="the Scavenger's run succeeded",
        )
        line = get_json(console + "api/queues/reports")["labourer"]
        assert (line["running"], line["retry_waiting"]) == (0, 1)  # retried, not a task silently running


def test_an_invalid_config_stops_serve_before_it_starts_with_every_problem(
    capsys: pytest.CaptureFixture[str],
) -> None:
    invalid = str(Path(PROJECT_ROOT) / "examples" / "invalid-config.json")

    code = cli.main(["local", "serve", "--port", "0", "--config", invalid])

    err = capsys.readouterr().err
    assert code == 2
    assert f"--config {invalid}: invalid orchestrator config" in err
    assert "task_config.labourers.reports.max_simultanious_invocations" in err
    assert "task_config.labourers.reports.health_metrics.ReportsDBCPU.feeling_comparison_operator" in err


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("mine", "expected NAME=DIR:module.function"),
        ("mine=/no/such/folder:app.handler", "/no/such/folder: no such folder"),
        (f"mine={PROJECT_ROOT}:handler", "must be module.function"),
        (f"bad name={PROJECT_ROOT}:app.handler", "is not a Lambda function name"),
    ],
)
def test_a_bad_labourer_option_says_why(value: str, reason: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["local", "serve", "--port", "0", "--labourer", value])

    assert code == 2
    assert reason in capsys.readouterr().err


def test_a_labourer_folder_being_edited_runs_its_new_code_at_the_next_invoke(tmp_path: Path) -> None:
    code = tmp_path / "labourer"
    code.mkdir()
    (code / "app.py").write_text("from words import WORD\n\n\ndef handler(event, context):\n    return WORD\n")
    (code / "words.py").write_text("WORD = 'first'\n")
    with EmbeddedStack(parameters={"LogLevel": "WARNING"}) as stack:
        lambda_client = stack.client("lambda")
        create_zip_function(stack, "edited", {"README.txt": "runs from its folder"})
        stack.runtime.add_code("edited", str(code), "app.handler", reload=True)  # as --labourer registers it

        def invoke() -> Any:
            return json.loads(lambda_client.invoke(FunctionName="edited", Payload=b"{}")["Payload"].read())

        assert invoke() == "first"
        assert invoke() == "first"
        (code / "words.py").write_text("WORD = 'second'\n")  # the module beside the handler changes
        later = time.time() + 5
        os.utime(code / "words.py", (later, later))

        assert invoke() == "second"
