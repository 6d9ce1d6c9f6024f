"""Issue 17, "newcomer papercuts": each rough edge a new user hit following the README, one test each.

The items that need a running endpoint are in ``tests/functional/test_cli_papercuts.py``; item 10 (an installed
wheel) in ``tests/functional/test_installed_wheel.py``; item 11 (every command block of the docs runs) in
``tests/statemachine/test_docs_commands.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from foreman import cli
from foreman_core.config import ConfigError, Tables, check_deployment_tables, loads_json, parse_config
from foreman_core.config_source import load_raw_config
from foreman_core.task_store import Task, to_attribute_value
from foreman_core.task_validation import MAX_TASK_ITEM_BYTES, new_task_problem, task_problem

ROOT = Path(__file__).resolve().parents[2]
LABOURERS = "task_config.labourers"


def _worker(**settings: Any) -> dict[str, Any]:
    return {"arn": "worker", **settings}


def _metric(**details: Any) -> dict[str, Any]:
    return {
        "details": {"MetricName": "CPUUtilization", "Namespace": "AWS/RDS", **details},
        "feelings": {"4": 25, "3": 50},
        "feeling_comparison_operator": "<=",
    }


def _problems(raw: Any) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value.problems


# ---------------------------------------------------------------------------------------------------------------------
# 2. `config put` stored a config that every run rejects (another deployment's table)


def test_item_2_a_config_naming_another_table_is_refused_as_loadconfig_refuses_it() -> None:
    config = parse_config({"task_config": {"dynamo_db_config": {"table_name": "old_tasks"}}})

    with pytest.raises(ConfigError) as caught:
        check_deployment_tables(config, Tables())

    assert caught.value.paths == ["task_config.dynamo_db_config.table_name"]
    assert "'old_tasks', but this deployment's table is 'sosw_tasks'" in str(caught.value)
    check_deployment_tables(parse_config({"task_config": {}}), Tables())  # the deployment's own tables pass


# ---------------------------------------------------------------------------------------------------------------------
# 3. `tasks create` queued what every run sets aside: one rule for both


def _stored(payload_text: str) -> Task:
    return Task.from_item(
        {
            "task_id": {"S": "t1"},
            "labourer_id": {"S": "reports"},
            "created_at": {"N": "1795882641.5"},
            "greenfield": {"N": "2000"},
            "attempts": {"N": "0"},
            "payload": {"S": payload_text},
        }
    )


@pytest.mark.parametrize(
    ("payload_text", "reason"),
    [
        (json.dumps({"blob": "x" * 300_000}), f"larger than {MAX_TASK_ITEM_BYTES} bytes"),
        ('{"ratio": NaN}', "NaN is not JSON"),
        ('{"ratio": -Infinity}', "-Infinity is not JSON"),
        ("[1, 2]", "payload is JSON list, not an object"),
        ("{'a': 1}", "payload is not JSON"),
    ],
    ids=["300 KB", "NaN", "-Infinity", "a list", "a Python repr"],
)
def test_item_3_what_a_run_would_set_aside_is_refused_at_create_with_the_reason(payload_text: str, reason: str) -> None:
    problem = new_task_problem("reports", payload_text)

    assert problem is not None
    assert reason in problem
    stored = _stored(payload_text)
    assert task_problem({name: to_attribute_value(value) for name, value in stored.attributes.items()}) is not None


def test_item_3_a_task_that_fits_once_claimed_is_accepted() -> None:
    assert new_task_problem("reports", json.dumps({"blob": "x" * 200_000})) is None
    assert new_task_problem("reports", "{}", task_id="my-task") is None


def test_item_3_the_size_bound_counts_the_whole_item_as_dynamodb_json() -> None:
    # a payload just under the bound on its own, but not with the task's other attributes and the JSON escaping
    payload = json.dumps({"quotes": '"' * (MAX_TASK_ITEM_BYTES // 2 - 100)})
    assert len(payload.encode()) < MAX_TASK_ITEM_BYTES
    problem = new_task_problem("reports", payload)
    assert problem is not None
    assert "as DynamoDB JSON" in problem


def test_item_3_the_cli_refuses_before_anything_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.jsonl"
    big.write_text('{"n": 1}\n' + json.dumps({"blob": "x" * 300_000}) + "\n")

    # the endpoint is unreachable: a refusal after any AWS call would say so instead
    code = cli.main(["tasks", "create", "--endpoint-url", "http://127.0.0.1:9", "--labourer", "reports",
                     "--file", str(big)])  # fmt: skip

    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert "big.jsonl line 2: the task is " in err
    assert f"larger than {MAX_TASK_ITEM_BYTES} bytes" in err
    assert "nothing was created" in err
    code = cli.main(["tasks", "create", "--endpoint-url", "http://127.0.0.1:9", "--labourer", "reports",
                     "--payload", '{"ratio": NaN}'])  # fmt: skip
    assert code == cli.EXIT_USAGE
    assert "--payload: invalid JSON: NaN" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------------
# 4. `foreman run` showed `released 2` with no reason


def _summary(**line: Any) -> dict[str, Any]:
    base = {"status": 4, "desired": 2, "fetched": 2, "released": 2}  # a line leaves out its zero fields
    return {"labourers": {"reports": {**base, **line}}, "totals": {"desired": 2, "fetched": 2, "released": 2}}


def test_item_4_the_run_table_names_the_errors_of_released_tasks() -> None:
    table = cli.summary_table(_summary(errors={"Lambda.ResourceNotFoundException": 2}))

    header, row, _ = table.splitlines()
    assert header.split()[-1] == "errors"
    assert row.endswith("Lambda.ResourceNotFoundException x2")
    assert cli.summary_table(_summary(released=0)).splitlines()[1].endswith("-")


def test_a_large_deployments_idle_labourers_are_one_line_of_counts() -> None:
    idle = {f"idle-{n}": {"status": 4, "desired": 2} for n in range(30)}
    blind = {f"blind-{n}": {"status": 0, "set_by": "cpu"} for n in range(5)}
    output = {"labourers": {**idle, **blind, **_summary()["labourers"]}, "totals": {}}

    lines = cli.summary_table(output).splitlines()

    assert [line.split()[0] for line in lines[1:-1]] == ["reports", "total"]
    assert lines[-1] == "(35 more labourers with nothing queued, running or done: 5 at 0 Bad, 30 at 4 High)"
    few = {"labourers": {**dict(list(idle.items())[:5]), **_summary()["labourers"]}, "totals": {}}
    assert len(cli.summary_table(few).splitlines()) == 1 + 6 + 1  # up to 20 labourers, every one is shown


# ---------------------------------------------------------------------------------------------------------------------
# 7. a failed execution printed a raw JSON cause with a full stackTrace

LAMBDA_CAUSE = json.dumps(
    {
        "errorMessage": "the config at ssm:/foreman/orchestrator_config is invalid",
        "errorType": "ConfigError",
        "requestId": "1f0c",
        "stackTrace": ['  File "/var/task/aws_lambda_powertools/logging/logger.py", line 447, in decorate\n'] * 6,
    }
)


def test_item_7_a_failed_execution_shows_the_error_and_its_message_not_the_stack_trace() -> None:
    text = cli.describe_failure({"error": "ConfigError", "cause": LAMBDA_CAUSE})

    assert "  error: ConfigError" in text
    assert "  message: the config at ssm:/foreman/orchestrator_config is invalid" in text
    assert "logger.py" not in text
    assert "stackTrace" not in text
    assert "--verbose" in text


def test_item_7_verbose_shows_the_whole_cause_and_a_plain_cause_is_shown_as_it_is() -> None:
    assert "logger.py" in cli.describe_failure({"error": "ConfigError", "cause": LAMBDA_CAUSE}, verbose=True)
    plain = cli.describe_failure({"error": "States.Timeout", "cause": "took too long"})
    assert plain == "  error: States.Timeout\n  cause: took too long"


def test_item_7_run_has_a_verbose_option() -> None:
    args = cli.build_parser().parse_args(["run", "--verbose"])
    assert args.verbose is True


# ---------------------------------------------------------------------------------------------------------------------
# 9. the documented `file:` location did not work in the CLI


def test_item_9_config_validate_reads_a_file_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "c.json").write_text((ROOT / "examples" / "config.json").read_text())
    monkeypatch.chdir(tmp_path)

    assert cli.main(["config", "validate", "file:c.json"]) == cli.EXIT_OK
    assert cli.main(["config", "validate", f"file://{tmp_path / 'c.json'}"]) == cli.EXIT_OK
    assert capsys.readouterr().out.count("valid: 3 labourers") == 2
    assert cli.main(["config", "validate", "file:missing.json"]) == cli.EXIT_USAGE
    assert "missing.json: no such file" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------------
# 12. the validator accepted a repeated labourer, `Period: 7`, no labourers; and hid a fourth error


def test_item_12_a_labourer_given_twice_is_an_error_wherever_the_config_is_read(tmp_path: Path) -> None:
    text = '{"task_config": {"labourers": {"reports": {"arn": "a"}, "reports": {"arn": "b"}}}}'
    path = tmp_path / "c.json"
    path.write_text(text)

    for raw in (loads_json(text), text, load_raw_config(f"file:{path}")):
        problems = _problems(raw)
        assert problems == [(f"{LABOURERS}.reports", problems[0][1])]
        assert "given more than once" in problems[0][1]


def test_item_12_a_key_given_twice_anywhere_is_reported_with_its_path() -> None:
    text = json.dumps({"task_config": {"labourers": {"w": _worker(health_metrics={"cpu": _metric()})}}})
    text = text.replace('"Namespace": "AWS/RDS"', '"Namespace": "AWS/RDS", "Namespace": "AWS/EC2"')

    assert [path for path, _ in _problems(loads_json(text))] == [f"{LABOURERS}.w.health_metrics.cpu.details.Namespace"]


@pytest.mark.parametrize("period", [7, 15, 61, 90])
def test_item_12_a_period_cloudwatch_refuses_is_an_error(period: int) -> None:
    raw = {"task_config": {"labourers": {"w": _worker(health_metrics={"cpu": _metric(Period=period)})}}}

    ((path, reason),) = _problems(raw)

    assert path == f"{LABOURERS}.w.health_metrics.cpu.details.Period"
    assert f"a period of {period} s" in reason
    assert "multiple of 60" in reason


@pytest.mark.parametrize("period", [1, 5, 10, 20, 30, 60, 300, 3600])
def test_item_12_the_periods_cloudwatch_accepts_pass(period: int) -> None:
    raw = {"task_config": {"labourers": {"w": _worker(health_metrics={"cpu": _metric(Period=period)})}}}
    assert parse_config(raw).labourer("w").health_metrics[0].query.period == period


def test_item_12_a_default_period_is_checked_too() -> None:
    raw = {"task_config": {"ecology_config": {"default_metric_values": {"Period": 45}}}}
    assert [path for path, _ in _problems(raw)] == ["task_config.ecology_config.default_metric_values.Period"]


def test_item_12_the_invalid_example_reports_every_problem_at_once() -> None:
    problems = _problems(json.loads((ROOT / "examples" / "invalid-config.json").read_text()))

    metric = f"{LABOURERS}.reports.health_metrics.ReportsDBCPU"
    assert [path for path, _ in problems] == [
        f"{LABOURERS}.reports.max_simultanious_invocations",
        f"{metric}.details.Statistics.0",
        f"{metric}.feeling_comparison_operator",
        f"{metric}.feelings",
    ]
    assert "did you mean '<='?" in problems[2][1]
    assert "thresholds out of order for '<=', the operator meant" in problems[3][1]


def test_item_12_validate_warns_about_a_config_with_no_labourers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.json"
    path.write_text('{"task_config": {}}')

    assert cli.main(["config", "validate", str(path)]) == cli.EXIT_OK

    captured = capsys.readouterr()
    assert captured.out == "valid: 0 labourers\n"
    assert "warning: the config has no labourers" in captured.err


# ---------------------------------------------------------------------------------------------------------------------
# 13. no --version; an execution name AWS refuses; options that do not apply in `config validate --help`


def test_item_13_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == cli.EXIT_OK
    assert capsys.readouterr().out.strip() == "foreman 0.1.0"


@pytest.mark.parametrize("name", ["my run", "a/b", "x" * 81, "tab\there", "what?", "", "ünïcode-ok"])
def test_item_13_run_names_are_checked_as_aws_checks_them(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", "--endpoint-url", "http://127.0.0.1:9", "--name", name])

    if name == "ünïcode-ok":  # AWS accepts any other printable character; then the endpoint is unreachable
        assert code == cli.EXIT_FAILED
        assert "cannot reach http://127.0.0.1:9" in capsys.readouterr().err
    else:
        assert code == cli.EXIT_USAGE
        assert "argument --name:" in capsys.readouterr().err


def test_item_13_config_validate_offers_only_the_options_that_apply(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config", "validate", "--help"]) == cli.EXIT_OK

    text = capsys.readouterr().out
    for option in ("--endpoint-url", "--region", "--profile"):
        assert option in text
    for option in ("--stack-name", "--state-machine-arn", "--tasks-table", "--closed-table", "--retry-table",
                   "--config-location"):  # fmt: skip
        assert option not in text


# ---------------------------------------------------------------------------------------------------------------------
# 14. the README did not say what the local endpoint keeps, runs and needs


def test_item_14_the_readme_says_what_the_local_endpoint_keeps_runs_and_needs() -> None:
    page = (ROOT / "docs" / "local-stack.md").read_text()
    section = page[page.index("## The local endpoint") :]

    assert "**Everything is in memory.**" in section
    assert "lost when it stops" in section
    assert "**nothing runs the Scavenger**" in section  # with --no-schedule; serve runs the schedules by default
    assert "--no-schedule" in section
    assert "stateMachine:foreman-Scavenger" in section  # and how to run it by hand
    assert "**The AWS CLI is not installed by `make`**" in section
    assert "| head -1" not in section  # the pipe that blocked forever and left the server running


def test_the_troubleshooting_page_covers_the_cases_of_issue_17() -> None:
    page = (ROOT / "docs" / "troubleshooting.md").read_text()

    for symptom in ("released", "--verbose", "but this deployment's table is", "no DynamoDB table",
                    "the config at ... is invalid", "given more than once", "Period", "larger than 245760 bytes",
                    "NaN", "--name", "--ticks", "site-packages/examples/config.json", "NoCredentialsError",
                    "in memory", "Scavenger", "aws: command not found"):  # fmt: skip
        assert symptom in page, symptom
    assert "(docs/troubleshooting.md)" in (ROOT / "README.md").read_text()


# ---------------------------------------------------------------------------------------------------------------------
# Issue 25, item 2: a Scavenger run's output (a list of labourer reports), as `foreman run` reads it


SCAVENGER_OUTPUT = {
    "execution": "arn:aws:states:us-east-1:123456789012:execution:foreman-Scavenger:x",
    "start": 1_700_000_000,
    "labourers": 40,
    "with_work": 13,
    "batches": [
        {"labourers": [
            {"labourer_id": "reports", "archived": 3, "dead": 1, "failures_reported": 1,
             "dead_tasks": [{"task_id": "t-1", "labourer_id": "reports", "attempts": 3,
                             "reason": "failed after 3 attempts"}]},
            {"labourer_id": "thumbnails", "errors": ["t-9: retried: boom"]},
         ], "totals": {"batch": 0, "scavenged": 12, "archived": 3, "dead": 1, "omitted": 10}},
        {"batch": 1, "size": 1, "error": "Lambda.Unknown"},
    ],
}  # fmt: skip


def test_report_lines_reads_a_scavenger_output_by_labourer() -> None:
    assert [labourer_id for labourer_id, _ in cli.report_lines(SCAVENGER_OUTPUT)] == ["reports", "thumbnails"]


def test_the_scavenger_summary_shows_each_labourer_its_dead_tasks_and_its_failed_batches() -> None:
    from foreman.cli.run import scavenger_summary

    text, problems = scavenger_summary(SCAVENGER_OUTPUT)

    assert text.splitlines()[0] == "13 of 40 labourer(s) had work"
    rows = {line.split()[0]: line.split() for line in text.splitlines()[2:4]}
    assert rows["reports"][1:5] == ["3", "0", "1", "0"]  # archived, retried, dead, requeued
    assert rows["thumbnails"][1:5] == ["0", "0", "0", "0"]
    assert "  and 10 more labourer line(s) left out of the report (each batch keeps 4,000 bytes)" in text
    assert "  reports: closed as dead t-1: failed after 3 attempts" in text
    assert problems == ["thumbnails: t-9: retried: boom", "batch 1 (1 labourers): Lambda.Unknown"]


def test_an_express_run_is_started_once_whatever_happens_to_its_answer() -> None:
    # botocore: "max_attempts" is the number of retries after the first call, "total_max_attempts" every call
    from botocore.config import Config

    from foreman.cli.run import NO_RETRIES

    config = Config(retries=NO_RETRIES)
    assert config.retries is not None
    assert config.retries["total_max_attempts"] == 1
    assert "max_attempts" not in NO_RETRIES  # the legacy key, which would allow one retry: a second run
