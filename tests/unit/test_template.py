"""The SAM template: least-privilege IAM, the parameters a user sets, and what the local deployer reads from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from foreman.local.deployer import Deployment, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(str(ROOT / "template.yaml"))
ARN_PREFIX = "arn:aws:lambda:eu-west-1:111122223333:function:"
ARN_PREFIX = "arn:aws:lambda:eu-west-1:111122223333:function:"


def _statements() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical_id, resource in TEMPLATE["Resources"].items():
        for policy in resource.get("Properties", {}).get("Policies", []) or []:
            branches = policy["Fn::If"][1:] if "Fn::If" in policy else [policy]
            for branch in branches:
                for statement in branch.get("Statement", []) if isinstance(branch, dict) else []:
                    found.append((logical_id, statement))
    return found


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def test_no_statement_allows_every_action() -> None:
    for logical_id, statement in _statements():
        for action in _actions(statement):
            assert action != "*", f"{logical_id}: {action}"
            assert not action.endswith(":*"), f"{logical_id}: {action}"


def test_invoke_is_granted_only_on_the_labourer_arns() -> None:
    class _NoClients:
        def __call__(self, service: str) -> Any:
            raise AssertionError("resolving a statement makes no AWS call")

    deployment = Deployment(
        str(ROOT / "template.yaml"),
        clients=_NoClients(),
        parameters={"LabourerArns": f"{ARN_PREFIX}a,{ARN_PREFIX}b"},
    )
    invokes = [s for _, s in _statements() if "lambda:InvokeFunction" in _actions(s)]
    assert len(invokes) == 1
    assert deployment.resolve(invokes[0]["Resource"]) == [
        "arn:aws:lambda:eu-west-1:111122223333:function:a",
        "arn:aws:lambda:eu-west-1:111122223333:function:b",
        "arn:aws:lambda:eu-west-1:111122223333:function:a:*",
        "arn:aws:lambda:eu-west-1:111122223333:function:b:*",
    ]


def test_wildcard_resources_are_only_where_aws_offers_no_resource_level_permission() -> None:
    allowed = {
        "cloudwatch:GetMetricData",
        "cloudwatch:PutMetricData",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    for logical_id, statement in _statements():
        if statement.get("Resource") == "*":
            actions = set(_actions(statement))
            assert actions <= allowed or all(a.startswith("logs:") for a in actions), f"{logical_id}: {actions}"


def test_functions_run_python_3_12_or_newer_on_arm64() -> None:
    defaults = TEMPLATE["Globals"]["Function"]
    major, minor = defaults["Runtime"].removeprefix("python").split(".")
    assert (int(major), int(minor)) >= (3, 12)
    assert defaults["Architectures"] == ["arm64"]


def test_the_schedule_ships_disabled_with_the_rate_as_a_parameter() -> None:
    schedule = TEMPLATE["Resources"]["Orchestrator"]["Properties"]["Events"]["Schedule"]
    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    assert TEMPLATE["Parameters"]["ScheduleState"]["Default"] == "DISABLED"


def test_tables_have_sosws_names_by_default_and_point_in_time_recovery() -> None:
    defaults = {
        name: TEMPLATE["Parameters"][name]["Default"]
        for name in ("TasksTableName", "ClosedTasksTableName", "RetryTasksTableName")
    }
    assert defaults == {
        "TasksTableName": "sosw_tasks",
        "ClosedTasksTableName": "sosw_closed_tasks",
        "RetryTasksTableName": "sosw_retry_tasks",
    }
    for logical_id in ("TasksTable", "ClosedTasksTable", "RetryTasksTable"):
        properties = TEMPLATE["Resources"][logical_id]["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_the_state_machine_logs_and_traces() -> None:
    properties = TEMPLATE["Resources"]["Orchestrator"]["Properties"]
    assert properties["Tracing"] == {"Enabled": True}
    assert properties["Logging"]["Destinations"]
