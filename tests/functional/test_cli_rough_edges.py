"""Issue 25, "the rough edges of a day with the CLI", the items that need an endpoint: ``foreman local serve`` as in
``test_cli`` (one server for the module, tables emptied and the example config stored before each test)."""

from __future__ import annotations

import json
from pathlib import Path

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
    header, *rows = out.splitlines()[2:]
    assert header.split()[:5] == ["labourer", "archived", "retried", "dead", "requeued"]
    assert sorted(row.split()[0] for row in rows) == sorted(CONFIG["task_config"]["labourers"])

    code, out, _ = run_cli(capsys, "run", "--endpoint-url", endpoint, "--state-machine-arn", scavenger, "--json")
    assert code == 0
    assert sorted(line["labourer_id"] for line in json.loads(out)["labourers"]) == sorted(
        CONFIG["task_config"]["labourers"]
    )
