"""Issue 17, "newcomer papercuts", the items that need an endpoint: ``foreman local serve`` as in ``test_cli``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foreman_core.config import Tables
from foreman_core.task_store import TaskStore
from tests.functional import test_cli
from tests.functional.test_cli import CONFIG, _client, run_cli

ROOT = Path(__file__).resolve().parents[2]
served, endpoint = test_cli.served, test_cli.endpoint  # the same module-scoped `foreman local serve` fixture


def _stored_config(url: str) -> str:
    return str(_client(url, "ssm").get_parameter(Name="/foreman/orchestrator_config")["Parameter"]["Value"])


# ---------------------------------------------------------------------------------------------------------------------
# 2. `config put` stored a config every run rejects; `status` then did not name the table


def test_item_2_config_put_refuses_a_config_that_loadconfig_would_refuse(
    capsys: pytest.CaptureFixture[str], endpoint: str, tmp_path: Path
) -> None:
    other = {**CONFIG, "task_config": {**CONFIG["task_config"], "dynamo_db_config": {"table_name": "other_tasks"}}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(other))
    before = _stored_config(endpoint)

    code, out, err = run_cli(capsys, "config", "put", "--endpoint-url", endpoint, str(path))

    assert (code, out) == (1, "")
    assert "task_config.dynamo_db_config.table_name: names table 'other_tasks', but this deployment's table" in err
    assert "nothing was stored" in err
    assert _stored_config(endpoint) == before


def test_item_2_status_names_a_table_that_does_not_exist(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    code, _, err = run_cli(capsys, "status", "--endpoint-url", endpoint, "--tasks-table", "no_such_tasks")

    assert code == 1
    assert "ResourceNotFoundException: no DynamoDB table 'no_such_tasks'" in err


# ---------------------------------------------------------------------------------------------------------------------
# 6. a broken config in SSM made `foreman status` exit 1 with nothing else shown


def test_item_6_status_shows_the_queues_and_the_config_error(capsys: pytest.CaptureFixture[str], endpoint: str) -> None:
    TaskStore(_client(endpoint, "dynamodb"), Tables()).create_tasks("reports", [{"n": 1}, {"n": 2}, {"n": 3}])
    broken = (ROOT / "examples" / "invalid-config.json").read_text()
    _client(endpoint, "ssm").put_parameter(
        Name="/foreman/orchestrator_config", Value=broken, Type="String", Overwrite=True
    )

    code, out, err = run_cli(capsys, "status", "--endpoint-url", endpoint)

    assert code == 1
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert rows["reports"][1] == "3"  # queued
    assert "the config at ssm:/foreman/orchestrator_config is invalid" in err
    assert "task_config.labourers.reports.max_simultanious_invocations" in err

    code, out, _ = run_cli(capsys, "status", "--endpoint-url", endpoint, "--json")
    assert code == 1
    shown = json.loads(out)
    assert shown["labourers"][0]["queued"] == 3
    assert "max_simultanious_invocations" in shown["config_error"]
