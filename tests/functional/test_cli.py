"""The ``foreman`` CLI, every command, as an operator uses it: against ``foreman local serve`` on loopback.

One ``foreman local serve --port 0`` runs as a subprocess for the module (the real command, its JSON line read back);
each test drives ``foreman.cli.main(argv)`` in this process with ``--endpoint-url`` and checks what it prints and
its exit code, then what it did to the tables. Every test starts from empty tables and the example config.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from benchmarks.labourers import health_metrics
from foreman import cli
from foreman.local.stack import PROJECT_ROOT
from foreman_core.config import Tables
from foreman_core.greenfield import RunMarkers
from foreman_core.task_store import TaskStore
from tests import serve_process

EXAMPLES = Path(PROJECT_ROOT) / "examples"
CONFIG = json.loads((EXAMPLES / "config.json").read_text())
REPORTS_FILE = EXAMPLES / "tasks" / "reports.jsonl"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``foreman local serve --port 0 --no-schedule`` in a subprocess (the tests run the Orchestrator themselves);
    its first line (JSON) describes the endpoint."""
    with serve_process.served("--no-schedule", stderr=tmp_path_factory.mktemp("serve") / "stderr.log") as running:
        yield running.line


@pytest.fixture
def endpoint(served: dict[str, Any]) -> str:
    """The endpoint, with empty tables and the example config in place."""
    url = str(served["endpoint"])
    dynamodb = _client(url, "dynamodb")
    for table in ("sosw_tasks", "sosw_closed_tasks", "sosw_retry_tasks"):
        keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=table, Key={key: item[key] for key in keys})
    _client(url, "ssm").put_parameter(
        Name="/foreman/orchestrator_config", Value=json.dumps(CONFIG), Type="String", Overwrite=True
    )
    return url


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def _store(endpoint: str) -> TaskStore:
    return TaskStore(_client(endpoint, "dynamodb"), Tables())


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``foreman *argv``: (exit code, stdout, stderr)."""
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------------------------------------------------------
# local serve, --help


def test_local_serve_prints_one_json_line_that_the_cli_defaults_match(served: dict[str, Any]) -> None:
    assert served["endpoint"].startswith("http://127.0.0.1:")
    assert served["region"] == "us-east-1"
    assert served["tables"] == {"tasks": "sosw_tasks", "closed": "sosw_closed_tasks", "retry": "sosw_retry_tasks"}
    assert served["state_machines"]["Orchestrator"] == cli.LOCAL_OUTPUTS["OrchestratorArn"]
    assert served["config_location"] == cli.LOCAL_OUTPUTS["ConfigLocation"]
    assert served["labourers"] == ["thumbnails", "reports", "invoices"]
    assert set(served["functions"]) >= {"thumbnails", "reports", "invoices", "foreman-LoadConfigFunction"}
    for name, value in cli.LOCAL_OUTPUTS.items():  # what --endpoint-url assumes is what serve deploys
        assert served["outputs"][name] == value


def test_the_endpoint_serves_any_aws_client(served: dict[str, Any], endpoint: str) -> None:
    sfn = _client(endpoint, "stepfunctions")
    machines = {machine["name"] for machine in sfn.list_state_machines()["stateMachines"]}
    assert "foreman-Orchestrator" in machines
    assert _client(endpoint, "dynamodb").describe_table(TableName="sosw_tasks")["Table"]["TableStatus"] == "ACTIVE"


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["tasks"],
        ["tasks", "create"],
        ["status"],
        ["run"],
        ["config"],
        ["config", "validate"],
        ["config", "put"],
        ["local"],
        ["local", "demo"],
        ["local", "serve"],
    ],
    ids=lambda command: " ".join(command) or "foreman",
)
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    code, out, _ = run_cli(capsys, *command, "--help")
    assert code == 0
    assert out.startswith("usage: foreman")
    assert "--help" in out


def test_a_missing_or_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "tasks")[0] == 2
    code, _, err = run_cli(capsys, "frobnicate")
    assert code == 2
    assert "invalid choice: 'frobnicate'" in err


# ---------------------------------------------------------------------------------------------------------------------
# tasks create


def test_tasks_create_one(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    code, out, err = run_cli(
        capsys,
        "tasks",
        "create",
        "--endpoint-url",
        endpoint,
        "--labourer",
        "thumbnails",
        "--payload",
        '{"image": "a.jpg"}',
    )

    assert (code, err) == (0, "")
    assert out.startswith("created 1 task for thumbnails, queued\n")
    task_id = out.splitlines()[1].strip()
    task = _store(endpoint).get_task(task_id)
    assert task is not None
    assert (task.labourer_id, task.payload, task.greenfield) == ("thumbnails", {"image": "a.jpg"}, 2000)


def test_tasks_create_many_from_a_json_lines_file_keeps_their_order(
    capsys: pytest.CaptureFixture[str], endpoint: str
) -> None:
    code, out, _ = run_cli(
        capsys, "tasks", "create", "--endpoint-url", endpoint, "--labourer", "reports", "--file", str(REPORTS_FILE),
        "--json",
    )  # fmt: skip

    assert code == 0
    created = json.loads(out)
    assert created["created"] == 20
    queued = _store(endpoint).next_tasks("reports", 50, start=time.time())
    assert [task.task_id for task in queued] == created["task_ids"]
    expected = [json.loads(line) for line in REPORTS_FILE.read_text().splitlines()]
    assert [task.payload for task in queued] == expected


def test_an_invalid_json_line_names_its_line_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], endpoint: str, tmp_path: Path
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        '{"customer": "acme", "month": "2026-10"}\n\n{"customer": "globex", "month": \n{"customer": "x"}\n'
    )

    code, out, err = run_cli(
        capsys, "tasks", "create", "--endpoint-url", endpoint, "--labourer", "reports", "--file", str(tasks)
    )

    assert code == 2
    assert out == ""
    assert f"foreman: error: {tasks} line 3: invalid JSON: Expecting value" in err
    assert _store(endpoint).queue_length("reports") == 0


def test_a_json_line_that_is_not_an_object_is_refused(
    capsys: pytest.CaptureFixture[str], endpoint: str, tmp_path: Path
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"customer": "acme"}\n["not", "an", "object"]\n')

    code, _, err = run_cli(
        capsys, "tasks", "create", "--endpoint-url", endpoint, "--labourer", "reports", "--file", str(tasks)
    )

    assert code == 2
    assert "line 2: expected a JSON object as the task's payload, got a list" in err
    assert _store(endpoint).queue_length("reports") == 0


def test_an_unknown_labourer_is_refused_with_the_configured_ones(
    capsys: pytest.CaptureFixture[str], endpoint: str
) -> None:
    code, out, err = run_cli(
        capsys, "tasks", "create", "--endpoint-url", endpoint, "--labourer", "thumbnail", "--payload", "{}"
    )

    assert (code, out) == (2, "")
    assert (
        err == "foreman: error: unknown labourer 'thumbnail' (did you mean 'thumbnails'?); the config's labourers are: "
        "thumbnails, reports, invoices\n"
    )
    assert _store(endpoint).queue_length("thumbnail") == 0


def test_bad_payload_and_bad_time_are_usage_errors(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    base = ["tasks", "create", "--endpoint-url", endpoint, "--labourer", "reports"]

    code, _, err = run_cli(capsys, *base, "--payload", "{'single': 'quotes'}")
    assert code == 2
    assert "--payload: invalid JSON: Expecting property name enclosed in double quotes" in err

    code, _, err = run_cli(capsys, *base, "--payload", "{}", "--not-before", "next tuesday")
    assert code == 2
    assert "--not-before: 'next tuesday' is not a time" in err

    code, _, err = run_cli(capsys, *base, "--file", "no-such-file.jsonl")
    assert code == 2
    assert "no-such-file.jsonl: no such file" in err

    code, _, err = run_cli(capsys, *base, "--payload", "{}", "--file", str(REPORTS_FILE))
    assert code == 2
    assert "not allowed with argument" in err
    assert _store(endpoint).queue_length("reports") == 0


def test_tasks_create_delayed_waits_in_the_retry_table(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    code, out, _ = run_cli(
        capsys, "tasks", "create", "--endpoint-url", endpoint, "--labourer", "reports", "--payload",
        '{"customer": "acme", "month": "2026-12"}', "--not-before", "2030-01-01T00:00:00Z",
    )  # fmt: skip

    assert code == 0
    assert "waiting until 2030-01-01T00:00:00Z (retry table)" in out
    items = _client(endpoint, "dynamodb").scan(TableName="sosw_retry_tasks")["Items"]
    assert [(item["labourer_id"]["S"], item["desired_launch_time"]["N"]) for item in items] == [
        ("reports", "1893456000")
    ]
    assert _store(endpoint).queue_length("reports") == 0


# ---------------------------------------------------------------------------------------------------------------------
# status


def test_status_counts_every_state_and_reads_the_health(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    # Given thumbnails tasks in every state (duration 120 s + cooldown 60 s in the example config)
    store = _store(endpoint)
    now = time.time()
    tasks = store.create_tasks("thumbnails", [{"image": f"{n}.jpg"} for n in range(9)])
    recent = RunMarkers.at(now - 10, duration=120, cooldown=60)
    long_ago = RunMarkers.at(now - 1000, duration=120, cooldown=60)
    for task in tasks[:2]:  # running
        assert store.claim(task.task_id, "thumbnails", recent).claimed
    assert store.claim(tasks[2].task_id, "thumbnails", long_ago).claimed  # expired
    for task in tasks[3:6]:  # completed; two of them archived
        assert store.claim(task.task_id, "thumbnails", recent).claimed
        assert store.mark_completed(task.task_id).accepted
    for task in tasks[3:5]:
        completed = store.get_task(task.task_id)
        assert completed is not None
        assert store.archive(completed)
    assert store.claim(tasks[6].task_id, "thumbnails", long_ago).claimed  # dead
    dead = store.get_task(tasks[6].task_id)
    assert dead is not None
    assert store.archive(dead, dead_reason="test")
    store.create_delayed_task("thumbnails", {"image": "later.jpg"}, not_before=now + 3600)

    code, out, err = run_cli(capsys, "status", "--endpoint-url", endpoint)

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("status at ")
    assert lines[1].split() == [
        "labourer", "queued", "running", "failed", "expired", "completed", "retry-waiting", "closed-completed",
        "closed-dead", "health",
    ]  # fmt: skip
    assert lines[2].split() == ["thumbnails", "2", "2", "0", "1", "1", "1", "2", "1", "4", "High"]
    assert lines[3].split()[:9] == ["reports", "0", "0", "0", "0", "0", "0", "0", "0"]

    code, out, _ = run_cli(capsys, "status", "--endpoint-url", endpoint, "--labourer", "reports", "--json")
    assert code == 0
    (reports,) = json.loads(out)["labourers"]
    assert reports["health"]["set_by"] == "ReportsDBCPU"
    (reading,) = reports["health"]["readings"]
    assert reading["value"] is not None
    assert reading["value"] <= 40  # the simulated database with no report running
    assert (reports["health"]["status"], reports["desired"]) == (4, 10)


def test_status_of_an_unknown_labourer(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    code, out, err = run_cli(capsys, "status", "--endpoint-url", endpoint, "--labourer", "nobody")
    assert (code, out) == (2, "")
    assert "unknown labourer 'nobody'; the config's labourers are: thumbnails, reports" in err


def test_an_unreachable_endpoint_is_a_clear_failure(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "status", "--endpoint-url", "http://127.0.0.1:9")
    assert code == 1
    assert "cannot reach http://127.0.0.1:9" in err
    assert "foreman local serve" in err


# ---------------------------------------------------------------------------------------------------------------------
# run


def test_run_starts_the_orchestrator_and_prints_its_summary(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    store = _store(endpoint)
    store.create_tasks("thumbnails", [{"image": f"{n}.jpg"} for n in range(6)])
    store.create_tasks("reports", [{"customer": "acme", "month": f"2026-{m:02d}"} for m in range(1, 4)])

    code, out, err = run_cli(capsys, "run", "--endpoint-url", endpoint)

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("started arn:aws:states:us-east-1:123456789012:execution:foreman-Orchestrator:")
    # the run handed its tasks to its Invocations execution (named after the run): its report is the run's
    handed = lines.pop(1)
    assert handed.startswith("handed over to arn:aws:states:us-east-1:123456789012:execution:foreman-invocations:run-")
    sfn = _client(endpoint, "stepfunctions")
    invocations = handed.removeprefix("handed over to ")
    assert sfn.describe_execution(executionArn=invocations)["status"] == "SUCCEEDED"
    assert lines[1].startswith("SUCCEEDED in ")
    assert lines[2].split() == [
        "labourer", "status", "set", "by", "running", "desired", "fetched", "invoked", "skipped", "released", "failed",
        "set", "aside", "deferred", "errors",
    ]  # fmt: skip
    # a status of 4 was set by no metric below 4: "set by" names one only for a lower status
    assert lines[3].split() == ["thumbnails", "4", "High", "-", "0", "4", "4", "4", "0", "0", "0", "0", "0", "-"]
    assert lines[4].split() == ["reports", "4", "High", "-", "0", "10", "3", "3", "0", "0", "0", "0", "0", "-"]
    # invoices (target tracking) has no tasks: its health is not read, its controller not stepped (nothing desired)
    assert lines[5].split() == ["invoices", "4", "High", "-", "0", "0", "0", "0", "0", "0", "0", "0", "0", "-"]
    assert lines[6].split() == ["total", "14", "7", "7", "0", "0", "0", "0", "0"]
    # the example labourers ran, and their completions went through the stack's TaskDestination
    assert store.queue_length("thumbnails") == 2
    assert len(store.completed_tasks("thumbnails")) == 4
    assert len(store.completed_tasks("reports")) == 3


def test_a_run_with_nothing_to_invoke_reports_itself_without_handing_over(
    capsys: pytest.CaptureFixture[str], endpoint: str
) -> None:
    code, out, err = run_cli(capsys, "run", "--endpoint-url", endpoint)

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert not any(line.startswith("handed over") for line in lines)
    assert lines[1].startswith("SUCCEEDED in ")
    assert lines[-1].split()[:3] == ["total", "0", "0"]


def test_run_json_prints_the_raw_output(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    _store(endpoint).create_tasks("thumbnails", [{"image": "a.jpg"}])

    code, out, _ = run_cli(capsys, "run", "--endpoint-url", endpoint, "--json", "--now", str(int(time.time())))

    assert code == 0
    output = json.loads(out)
    assert output["totals"]["invoked"] == 1  # the run's report: its Invocations execution's output
    assert set(output["labourers"]) == {"thumbnails", "reports", "invoices"}
    assert "invocations" not in output


def test_a_failed_execution_exits_1_with_its_error_and_cause(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    broken = {"task_config": {"labourers": {"reports": {"arn": "reports", "max_simultaneous_invocations": -1}}}}
    _client(endpoint, "ssm").put_parameter(
        Name="/foreman/orchestrator_config", Value=json.dumps(broken), Type="String", Overwrite=True
    )

    code, out, err = run_cli(capsys, "run", "--endpoint-url", endpoint)

    assert code == 1
    assert out.startswith("started ")
    assert " FAILED after " in err
    assert "  error: ConfigError" in err
    assert "max_simultaneous_invocations" in err


def test_a_run_whose_claims_were_released_exits_1_and_says_why(
    capsys: pytest.CaptureFixture[str], endpoint: str
) -> None:
    # Given a labourer whose function alias does not exist: Lambda refuses every invoke for good, so each attempt is
    # spent and recorded as failed (the Scavenger retries it, or closes it as dead once out of attempts)
    missing = {
        "task_config": {"labourers": {"ghost": {"arn": "reports:no-such-alias", "max_simultaneous_invocations": 2}}}
    }
    _client(endpoint, "ssm").put_parameter(
        Name="/foreman/orchestrator_config", Value=json.dumps(missing), Type="String", Overwrite=True
    )
    _store(endpoint).create_tasks("ghost", [{"n": 1}, {"n": 2}])

    code, out, err = run_cli(capsys, "run", "--endpoint-url", endpoint)

    # Then the execution SUCCEEDED, but the run is not reported as if all were well
    assert code == 1
    assert "SUCCEEDED in " in out
    assert (
        "foreman: ghost: 2 task(s) claimed but not invoked (0 released back to the queue, 2 failed): "
        "Lambda.ResourceNotFoundException x2" in err
    )
    assert _store(endpoint).queue_length("ghost") == 0


def test_run_against_a_state_machine_that_does_not_exist(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:nope"
    code, _, err = run_cli(capsys, "run", "--endpoint-url", endpoint, "--state-machine-arn", arn)
    assert code == 1
    assert "AWS error: StateMachineDoesNotExist" in err


# ---------------------------------------------------------------------------------------------------------------------
# config


def test_config_validate_a_valid_config(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "config", "validate", str(EXAMPLES / "config.json"))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "valid: 3 labourers"
    assert lines[2].split()[:4] == ["thumbnails", "4", "-", "120+60"]
    assert lines[3].split()[:4] == ["reports", "10", "ReportsDBCPU", "600+120"]


def test_config_validate_lists_every_problem_with_its_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "config", "validate", str(EXAMPLES / "invalid-config.json"))
    assert (code, out) == (1, "")
    assert "invalid orchestrator config (4 problem(s))" in err
    assert "task_config.labourers.reports.max_simultanious_invocations: unknown key; did you mean" in err
    assert "task_config.labourers.reports.health_metrics.ReportsDBCPU.details.Statistics.0: unknown statistic" in err
    assert "ReportsDBCPU.feeling_comparison_operator: unknown operator string '=<'" in err


def test_config_validate_bad_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"task_config": {"labourers": }}')
    code, _, err = run_cli(capsys, "config", "validate", str(broken))
    assert code == 1
    assert f"invalid config: {broken}: invalid JSON at line 1 column 31: Expecting value" in err

    code, _, err = run_cli(capsys, "config", "validate", str(tmp_path / "missing.json"))
    assert code == 2
    assert "missing.json: no such file" in err


def test_config_validate_reads_the_deployed_location(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    code, out, _ = run_cli(capsys, "config", "validate", "--endpoint-url", endpoint, "ssm:/foreman/orchestrator_config")
    assert code == 0
    assert out.startswith("valid: 3 labourers")


def test_config_put_stores_a_valid_config_and_the_next_run_uses_it(
    capsys: pytest.CaptureFixture[str], endpoint: str, tmp_path: Path
) -> None:
    smaller = json.loads(json.dumps(CONFIG))
    smaller["task_config"]["labourers"]["thumbnails"]["max_simultaneous_invocations"] = 2
    path = tmp_path / "config.json"
    path.write_text(json.dumps(smaller))
    _store(endpoint).create_tasks("thumbnails", [{"image": f"{n}.jpg"} for n in range(5)])

    code, out, _ = run_cli(capsys, "config", "put", "--endpoint-url", endpoint, str(path))
    assert code == 0
    assert out == f"stored {path} at ssm:/foreman/orchestrator_config: 3 labourers\n"

    code, out, _ = run_cli(capsys, "run", "--endpoint-url", endpoint, "--json")
    assert code == 0
    thumbnails = json.loads(out)["labourers"]["thumbnails"]
    assert (thumbnails["desired"], thumbnails["invoked"]) == (2, 2)


def test_config_put_refuses_an_invalid_config(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    code, _, err = run_cli(capsys, "config", "put", "--endpoint-url", endpoint, str(EXAMPLES / "invalid-config.json"))
    assert code == 1
    assert "nothing was stored" in err
    stored = _client(endpoint, "ssm").get_parameter(Name="/foreman/orchestrator_config")["Parameter"]["Value"]
    assert json.loads(stored) == CONFIG


def test_config_put_refuses_what_the_deployment_may_not_invoke(
    capsys: pytest.CaptureFixture[str], endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a local endpoint an ARN of another account runs as the local function of its name (issue 25, item 4:
    # test_cli_rough_edges); without that mapping, as on AWS, the deployment's LabourerArns refuse it
    from foreman.local import arn_mapping

    monkeypatch.setattr(arn_mapping, "local_arns", lambda raw, config: (raw, {}))
    elsewhere = json.loads(json.dumps(CONFIG))
    intruder = "arn:aws:lambda:us-east-1:999999999999:function:intruder"  # the local LabourerArns: this account only
    elsewhere["task_config"]["labourers"]["thumbnails"]["arn"] = intruder
    path = tmp_path / "config.json"
    path.write_text(json.dumps(elsewhere))

    code, out, err = run_cli(capsys, "config", "put", "--endpoint-url", endpoint, str(path))

    assert (code, out) == (1, "")
    assert f"task_config.labourers.thumbnails.arn: '{intruder}' is not in this deployment's LabourerArns" in err
    assert "nothing was stored" in err
    stored = _client(endpoint, "ssm").get_parameter(Name="/foreman/orchestrator_config")["Parameter"]["Value"]
    assert json.loads(stored) == CONFIG


def with_labourers(count: int, *, metrics: bool = False) -> dict[str, Any]:
    """The example config with ``count`` more labourers like its ``thumbnails`` (about 140 characters each; ~940
    with ``metrics``: three health metrics each)."""
    config = json.loads(json.dumps(CONFIG))
    labourers = config["task_config"]["labourers"]
    for number in range(count):
        labourers[f"more-{number:04d}"] = {**labourers["thumbnails"], "max_simultaneous_invocations": 1}
        if metrics:
            labourers[f"more-{number:04d}"]["health_metrics"] = health_metrics(number)
    return config


def test_config_put_stores_a_config_over_4_kb_in_an_advanced_parameter(
    capsys: pytest.CaptureFixture[str], endpoint: str, tmp_path: Path
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(with_labourers(30)))
    assert 4096 < len(json.dumps(with_labourers(30))) <= 8192

    code, _out, err = run_cli(capsys, "config", "put", "--endpoint-url", endpoint, str(path))

    assert code == 0, err
    ssm = _client(endpoint, "ssm")
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/foreman/orchestrator_config"]}])
    assert described["Parameters"][0]["Tier"] == "Advanced"  # Intelligent-Tiering: Advanced only when needed
    stored = ssm.get_parameter(Name="/foreman/orchestrator_config")["Parameter"]["Value"]
    assert json.loads(stored) == with_labourers(30)


def test_config_put_refuses_a_config_too_large_for_ssm_or_a_dynamodb_item_before_any_call(
    capsys: pytest.CaptureFixture[str], endpoint: str, tmp_path: Path
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(with_labourers(60)))
    size = len(json.dumps(with_labourers(60)))

    code, out, err = run_cli(capsys, "config", "put", "--endpoint-url", endpoint, str(path))

    assert (code, out) == (1, "")
    assert f"the config is {size:,} characters of JSON; an SSM parameter value holds at most 8,192" in err
    assert "ConfigBucketName" in err
    assert "ConfigTableName, up to 400 KB" in err
    assert "nothing was stored" in err
    stored = _client(endpoint, "ssm").get_parameter(Name="/foreman/orchestrator_config")["Parameter"]["Value"]
    assert json.loads(stored) == CONFIG

    # and a row of sosw's config table holds 400 KB: refused before any call (this endpoint has no such table)
    path.write_text(json.dumps(with_labourers(600, metrics=True)))  # ~560 KB
    location = "dynamodb:no-such-table/production/sosw_orchestrator_config"
    code, out, err = run_cli(
        capsys, "config", "put", "--endpoint-url", endpoint, "--config-location", location, str(path)
    )
    assert (code, out) == (1, "")
    assert "a DynamoDB item holds at most 409,600 (400 KB)" in err
    assert "ConfigBucketName" in err
    assert "ResourceNotFoundException" not in err


def test_config_put_stores_a_large_config_in_s3_and_the_next_run_reads_it(
    capsys: pytest.CaptureFixture[str], endpoint: str, tmp_path: Path
) -> None:
    s3 = _client(endpoint, "s3")
    s3.create_bucket(Bucket="cli-configs")
    s3.put_bucket_versioning(Bucket="cli-configs", VersioningConfiguration={"Status": "Enabled"})
    large = with_labourers(60)
    large["task_config"]["labourers"]["thumbnails"]["max_simultaneous_invocations"] = 2
    path = tmp_path / "config.json"
    path.write_text(json.dumps(large))
    location = "s3:cli-configs/foreman/orchestrator_config.json"

    code, out, err = run_cli(
        capsys, "config", "put", "--endpoint-url", endpoint, "--config-location", location, str(path)
    )

    assert code == 0, err
    assert out == f"stored {path} at {location}: 63 labourers\n"
    body = s3.get_object(Bucket="cli-configs", Key="foreman/orchestrator_config.json")["Body"].read()
    assert json.loads(body) == large


# ---------------------------------------------------------------------------------------------------------------------
# local demo (its full run is tests/statemachine/test_demo.py)


def test_local_demo_needs_at_least_one_tick(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "local", "demo", "--ticks", "0")
    assert code == 2
    assert "--ticks must be at least 1" in err


# ---------------------------------------------------------------------------------------------------------------------
# On AWS: the names come from the CloudFormation stack's outputs


def test_on_aws_the_cli_reads_the_stacks_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    from foreman.local.stack import EmbeddedStack

    with EmbeddedStack(parameters={"LogLevel": "WARNING", "TasksTableName": "prod_tasks"}) as stack:
        # Given a deployed stack (moto's CloudFormation holding the outputs of our deployment) with renamed tables
        outputs = {name: value for name, value in stack.outputs.items() if isinstance(value, str)}
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {name: {"Value": value} for name, value in outputs.items()},
        }
        stack.client("cloudformation").create_stack(StackName="foreman-prod", TemplateBody=json.dumps(template))
        config = json.loads(json.dumps(CONFIG))
        config["task_config"]["dynamo_db_config"] = {"table_name": "prod_tasks"}
        stack.put_config(config)
        TaskStore(stack.client("dynamodb"), Tables(tasks="prod_tasks")).create_tasks("reports", [{}, {}, {}])

        # When `foreman status` runs with no endpoint: the default boto3 chain, and the stack named
        code, out, err = run_cli(capsys, "status", "--stack-name", "foreman-prod", "--labourer", "reports")

        # Then it found the tables and the config through the stack's outputs
        assert (code, err) == (0, "")
        assert out.splitlines()[2].split()[:2] == ["reports", "3"]

        code, out, err = run_cli(capsys, "status", "--stack-name", "nowhere")
        assert (code, out) == (1, "")
        assert "cannot read the stack 'nowhere'" in err
        assert "sam deploy --guided" in err


def test_local_serve_on_a_taken_port_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli(capsys, "local", "serve", "--port", str(port))
    assert (code, out) == (2, "")
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "--port 0" in err


def test_an_aws_error_is_reported_not_raised(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    code, out, err = run_cli(
        capsys, "tasks", "create", "--endpoint-url", endpoint, "--tasks-table", "no_such_table", "--no-verify",
        "--labourer", "reports", "--payload", "{}",
    )  # fmt: skip
    assert (code, out) == (1, "")
    assert err.startswith("foreman: error: AWS error: ResourceNotFoundException")
