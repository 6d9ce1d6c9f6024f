"""Issue 25, "the rough edges of a day with the CLI", the items that need an endpoint: ``foreman local serve`` as in
``test_cli`` (one server for the module, tables emptied and the example config stored before each test)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from foreman import cli
from tests.functional import test_cli
from tests.functional.test_cli import CONFIG, _client, _store, run_cli

ROOT = Path(__file__).resolve().parents[2]
served, endpoint = test_cli.served, test_cli.endpoint  # the same module-scoped `foreman local serve` fixture


# ---------------------------------------------------------------------------------------------------------------------
# 2. `foreman run --state-machine-arn …:foreman-Scavenger` crashed in report_lines


def test_item_2_run_reports_a_scavenger_run_per_labourer(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    scavenger = cli.LOCAL_OUTPUTS["ScavengerArn"]

    code, out, err = run_cli(capsys, "run", "--endpoint-url", endpoint, "--state-machine-arn", scavenger)

    assert (code, err) == (0, "")
    assert "SUCCEEDED in " in out
    # nothing was invoked yet: no labourer has work, and the Scavenger says so instead of crashing
    assert f"0 of {len(CONFIG['task_config']['labourers'])} labourer(s) had work" in out

    code, out, _ = run_cli(capsys, "run", "--endpoint-url", endpoint, "--state-machine-arn", scavenger, "--json")
    assert code == 0
    output = json.loads(out)
    assert (output["labourers"], output["with_work"], output["batches"]) == (
        len(CONFIG["task_config"]["labourers"]),
        0,
        [],
    )


# ---------------------------------------------------------------------------------------------------------------------
# 4. `config put` refused an ARN that `serve --config` accepts and maps


def test_item_4_config_put_on_the_local_endpoint_maps_the_arns_you_will_deploy_to(
    capsys: pytest.CaptureFixture[str], endpoint: str, tmp_path: Path
) -> None:
    deployed = "arn:aws:lambda:eu-west-1:210987654321:function:reports"
    mine = json.loads(json.dumps(CONFIG))
    mine["task_config"]["labourers"]["reports"]["arn"] = deployed
    path = tmp_path / "config.json"
    path.write_text(json.dumps(mine))

    code, out, err = run_cli(capsys, "config", "put", "--endpoint-url", endpoint, str(path))

    local = "arn:aws:lambda:us-east-1:123456789012:function:reports"
    assert code == 0, err
    assert out.startswith(f"stored {path} at ssm:/foreman/orchestrator_config")
    assert f"foreman: {deployed} runs as the local {local}" in err
    stored = _client(endpoint, "ssm").get_parameter(Name="/foreman/orchestrator_config")["Parameter"]["Value"]
    assert json.loads(stored)["task_config"]["labourers"]["reports"]["arn"] == local


# ---------------------------------------------------------------------------------------------------------------------
# 8. a payload holding the task's own fields was accepted and the fields silently replaced


@pytest.mark.parametrize("source", ["--payload", "--file"])
def test_item_8_a_payload_with_the_tasks_own_fields_is_refused_and_nothing_created(
    capsys: pytest.CaptureFixture[str], endpoint: str, tmp_path: Path, source: str
) -> None:
    payload = '{"task_id": "mine", "attempts": 5, "labourer_id": "other", "n": 1}'
    path = tmp_path / "tasks.jsonl"
    path.write_text('{"n": 0}\n' + payload + "\n")
    given = ["--payload", payload] if source == "--payload" else ["--file", str(path)]

    code, out, err = run_cli(capsys, "tasks", "create", "--endpoint-url", endpoint, "--labourer", "reports", *given)

    assert (code, out) == (2, "")
    where = "--payload" if source == "--payload" else f"{path} line 2"
    assert f"foreman: error: {where}: 'task_id', 'attempts', 'labourer_id' are the task's own fields" in err
    assert "nothing was created" in err
    assert _store(endpoint).queue_length("reports") == 0


# ---------------------------------------------------------------------------------------------------------------------
# 9. a missing table: `tasks create` said only ResourceNotFoundException; `status` named it


@pytest.mark.parametrize(
    "command",
    [["tasks", "create", "--labourer", "reports", "--no-verify"], ["status"]],
    ids=["tasks create", "status"],
)
def test_item_9_every_command_names_a_missing_table(
    capsys: pytest.CaptureFixture[str], endpoint: str, command: list[str]
) -> None:
    code, _, err = run_cli(capsys, *command, "--endpoint-url", endpoint, "--tasks-table", "nope")

    assert code == 1
    assert "AWS error: ResourceNotFoundException: no DynamoDB table 'nope' at http://" in err
    assert "--tasks-table/--closed-table/--retry-table" in err


# ---------------------------------------------------------------------------------------------------------------------
# 14. `unknown labourer 'scrib'` had no "did you mean"


def test_item_14_an_unknown_labourer_suggests_the_closest(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    code, _, err = run_cli(capsys, "tasks", "create", "--endpoint-url", endpoint, "--labourer", "reprots")

    assert code == 2
    assert "unknown labourer 'reprots' (did you mean 'reports'?); the config's labourers are: " in err


# ---------------------------------------------------------------------------------------------------------------------
# 12. no way to look at one task or the stored config: `tasks show ID`, `tasks list`, `config get`


def test_item_12_tasks_show_finds_a_task_where_it_is_with_its_attempts_and_last_error(
    capsys: pytest.CaptureFixture[str], endpoint: str
) -> None:
    store = _store(endpoint)
    (queued,) = store.create_tasks("reports", [{"n": 1}])

    code, out, _ = run_cli(capsys, "tasks", "show", "--endpoint-url", endpoint, queued.task_id)

    assert code == 0
    fields = {line.split(None, 1)[0]: line.split(None, 1)[1].strip() for line in out.splitlines() if " " in line}
    assert fields["task"] == queued.task_id
    assert fields["labourer"] == "reports"
    assert fields["where"] == "queued"
    assert fields["attempts"] == "0"
    assert out.splitlines()[4].split(None, 2)[2] == "-"  # last error: none yet

    delayed = store.create_delayed_task("reports", {"n": 2}, not_before=4_000_000_000)
    closed = _client(endpoint, "dynamodb")
    closed.put_item(
        TableName="sosw_closed_tasks",
        Item={"task_id": {"S": "dead-1"}, "labourer_id": {"S": "reports"}, "attempts": {"N": "3"},
              "greenfield": {"N": "1"}, "created_at": {"N": "1700000000"}, "payload": {"S": "{}"},
              "close_reason": {"S": "failed after 3 attempts"}, "result_error_type": {"S": "ValueError"},
              "result_error_message": {"S": "bad row 7"}, "labourer_id_task_status": {"S": "reports_0"}},
    )  # fmt: skip

    code, out, _ = run_cli(capsys, "tasks", "show", "--endpoint-url", endpoint, delayed.task_id, "--json")
    assert code == 0
    assert json.loads(out)["where"] == "retry"  # found in the retry table without naming the labourer
    code, out, _ = run_cli(capsys, "tasks", "show", "--endpoint-url", endpoint, "dead-1", "--json")
    assert code == 0
    shown = json.loads(out)
    assert (shown["where"], shown["task"]["attempts"]) == ("closed-dead", 3)
    assert shown["last_error"] == "ValueError: bad row 7"

    code, _, err = run_cli(capsys, "tasks", "show", "--endpoint-url", endpoint, "nope")
    assert code == 2
    assert "no task 'nope' in sosw_tasks, sosw_retry_tasks, sosw_closed_tasks" in err


def test_item_12_tasks_list_shows_a_labourers_tasks_by_state(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    store = _store(endpoint)
    created = store.create_tasks("reports", [{"n": n} for n in range(3)])
    delayed = store.create_delayed_task("reports", {"n": 9}, not_before=4_000_000_000)

    code, out, _ = run_cli(capsys, "tasks", "list", "--endpoint-url", endpoint, "--labourer", "reports")

    assert code == 0
    rows = [line.split()[:3] for line in out.splitlines()[1:]]
    assert rows == [*([task.task_id, "queued", "0"] for task in created), [delayed.task_id, "retry", "0"]]
    code, out, _ = run_cli(capsys, "tasks", "list", "--endpoint-url", endpoint, "--labourer", "reports",
                           "--state", "retry", "--json")  # fmt: skip
    assert [task["task_id"] for task in json.loads(out)] == [delayed.task_id]
    code, out, _ = run_cli(capsys, "tasks", "list", "--endpoint-url", endpoint, "--labourer", "reports", "--limit", "2")
    assert len(out.splitlines()) == 1 + 2 + 1
    assert out.splitlines()[-1] == "(the first 2: --limit for more)"


def test_item_12_config_get_prints_the_stored_config_and_whether_it_is_valid(
    capsys: pytest.CaptureFixture[str], endpoint: str
) -> None:
    code, out, err = run_cli(capsys, "config", "get", "--endpoint-url", endpoint)

    assert code == 0
    assert json.loads(out) == CONFIG
    assert err == "foreman: ssm:/foreman/orchestrator_config: valid, 3 labourers\n"


# ---------------------------------------------------------------------------------------------------------------------
# 7. Ctrl-C during `tasks create --file` printed no ids and no count, and running it again duplicated them


def test_item_7_ctrl_c_during_tasks_create_says_how_far_it_got_and_the_rerun_it_names_queues_the_rest_once(
    capsys: pytest.CaptureFixture[str], endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import signal

    from foreman.cli import tasks
    from foreman_core.task_store import TaskStore

    path = tmp_path / "tasks.jsonl"
    path.write_text("# 250 tasks\n" + "".join(f'{{"n": {n}}}\n' for n in range(250)))
    real = TaskStore.create_tasks
    calls = []

    def create_tasks(self: TaskStore, labourer_id: str, payloads: Any) -> Any:
        calls.append(len(payloads))
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the first batch is being written
        return real(self, labourer_id, payloads)

    monkeypatch.setattr(TaskStore, "create_tasks", create_tasks)
    base = ["tasks", "create", "--endpoint-url", endpoint, "--labourer", "reports", "--file", str(path)]

    code, out, err = run_cli(capsys, *base)

    assert code == 130
    assert calls == [tasks.BATCH]  # the batch being written finished; no other was started
    assert out.startswith(f"created {tasks.BATCH} tasks for reports, queued\n")
    next_line = tasks.BATCH + 2  # the comment is line 1: the first task not written is on line 102
    assert f"interrupted: created 100 of 250 tasks, lines 2 to {next_line - 1} of {path}" in err
    assert f"foreman tasks create --labourer reports --file {path} --from-line {next_line}" in err
    assert _store(endpoint).queue_length("reports") == 100

    code, out, _ = run_cli(capsys, *base, "--from-line", str(next_line))

    assert code == 0
    assert out.startswith("created 150 tasks for reports, queued\n")
    queued = _store(endpoint).next_tasks("reports", 1000, start=4_000_000_000)
    assert [task.payload["n"] for task in queued] == list(range(250))  # each once, in the file's order
