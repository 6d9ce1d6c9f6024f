"""The SAM template: least-privilege IAM, the parameters a user sets, and what the local deployer reads from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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


# ---- the task lifecycle: completion functions, the Scavenger, dead-task notifications --------------------------------


def _resolver() -> Deployment:
    class _NoClients:
        def __call__(self, service: str) -> Any:
            raise AssertionError("resolving a statement makes no AWS call")

    return Deployment(
        str(ROOT / "template.yaml"),
        clients=_NoClients(),
        parameters={"LabourerArns": "arn:aws:lambda:eu-west-1:111122223333:function:a"},
    )


def _resources(statement: dict[str, Any]) -> list[str]:
    resolved = _resolver().resolve(statement["Resource"])
    return resolved if isinstance(resolved, list) else [resolved]


LIFECYCLE_FUNCTIONS = (
    "WorkerAssistantFunction",
    "TaskDestinationFunction",
    "FindLabourersWithWorkFunction",
    "ScavengeLabourersFunction",
)


def test_the_lifecycle_functions_touch_only_the_three_tables_and_their_indexes() -> None:
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/"
    allowed = {
        f"{table}sosw_tasks",
        f"{table}sosw_tasks/index/sosw_tasks_greenfield",
        f"{table}sosw_closed_tasks",
        f"{table}sosw_retry_tasks",
        f"{table}sosw_retry_tasks/index/labourer_id_greenfield",
    }
    seen = set()
    for logical_id, statement in _statements():
        if logical_id not in LIFECYCLE_FUNCTIONS:
            continue
        if any(action.startswith("dynamodb:") for action in _actions(statement)):
            resources = set(_resources(statement))
            assert resources <= allowed, f"{logical_id}: {resources - allowed}"
            seen.add(logical_id)
    assert seen == set(LIFECYCLE_FUNCTIONS)


def test_completion_functions_may_only_update_tasks_and_read_closed_and_retry_rows() -> None:
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/"
    for function in ("WorkerAssistantFunction", "TaskDestinationFunction"):
        grants = {
            (action, resource)
            for logical_id, statement in _statements()
            if logical_id == function
            for action in _actions(statement)
            for resource in _resources(statement)
        }
        assert grants == {
            ("dynamodb:UpdateItem", f"{table}sosw_tasks"),
            ("dynamodb:GetItem", f"{table}sosw_closed_tasks"),
            ("dynamodb:GetItem", f"{table}sosw_retry_tasks"),
        }, function


def test_the_scavenger_never_deletes_closed_rows_and_updates_only_tasks_in_place() -> None:
    grants = {
        (action, resource)
        for logical_id, statement in _statements()
        if logical_id == "ScavengeLabourersFunction"
        for action in _actions(statement)
        if action.startswith("dynamodb:")
        for resource in _resources(statement)
    }
    # the one update in place: an expired task of a run that did not finish goes back to its queue
    assert {resource for action, resource in grants if action == "dynamodb:UpdateItem"} == {
        "arn:aws:dynamodb:us-east-1:123456789012:table/sosw_tasks"
    }
    assert not any(
        action == "dynamodb:DeleteItem" and resource.endswith("sosw_closed_tasks") for action, resource in grants
    )
    assert ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/sosw_closed_tasks") in grants


def test_notifications_are_granted_on_the_topic_and_the_default_bus_only() -> None:
    publishes = [(lid, s) for lid, s in _statements() if "sns:Publish" in _actions(s)]
    puts = [(lid, s) for lid, s in _statements() if "events:PutEvents" in _actions(s)]
    assert [(lid, s["Resource"], _actions(s)) for lid, s in publishes] == [
        ("ScavengeLabourersFunction", {"Ref": "DeadTasksTopic"}, ["sns:Publish"])
    ]
    ((logical_id, put),) = puts
    assert (logical_id, _actions(put)) == ("ScavengeLabourersFunction", ["events:PutEvents"])
    assert _resources(put) == ["arn:aws:events:us-east-1:123456789012:event-bus/default"]
    assert TEMPLATE["Resources"]["DeadTasksTopic"]["Type"] == "AWS::SNS::Topic"


def test_finding_the_scavengers_work_only_queries_the_two_indexes() -> None:
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/"
    grants = {
        (action, resource)
        for logical_id, statement in _statements()
        if logical_id == "FindLabourersWithWorkFunction"
        for action in _actions(statement)
        if not action.startswith(("s3:", "ssm:", "dynamodb:GetItem"))  # ConfigReadPolicy is a managed policy
        for resource in _resources(statement)
    }
    assert grants == {
        ("dynamodb:Query", f"{table}sosw_tasks/index/sosw_tasks_greenfield"),
        ("dynamodb:Query", f"{table}sosw_retry_tasks/index/labourer_id_greenfield"),
    }


def test_the_timeout_lookup_is_granted_on_the_labourer_arns_only() -> None:
    ((logical_id, statement),) = [
        (lid, s) for lid, s in _statements() if "lambda:GetFunctionConfiguration" in _actions(s)
    ]
    assert logical_id == "ScavengeLabourersFunction"
    assert _actions(statement) == ["lambda:GetFunctionConfiguration"]
    assert _resources(statement) == [
        "arn:aws:lambda:eu-west-1:111122223333:function:a",
        "arn:aws:lambda:eu-west-1:111122223333:function:a:*",
    ]


def test_the_labourer_policy_invokes_the_two_completion_functions_only() -> None:
    policy = TEMPLATE["Resources"]["LabourerPolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert _actions(statement) == ["lambda:InvokeFunction"]
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["WorkerAssistantFunction", "Arn"]},
        {"Fn::GetAtt": ["TaskDestinationFunction", "Arn"]},
    ]


def test_the_scavenger_state_machine_has_its_own_disabled_schedule_logs_and_tracing() -> None:
    scavenger = TEMPLATE["Resources"]["Scavenger"]
    assert scavenger["Type"] == "AWS::Serverless::StateMachine"
    properties = scavenger["Properties"]
    assert properties["DefinitionUri"] == "statemachine/scavenger.asl.json"
    assert properties["Tracing"] == {"Enabled": True}
    assert properties["Logging"]["Destinations"]
    schedule = properties["Events"]["Schedule"]
    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "ScavengerScheduleExpression"}
    assert schedule["Properties"]["State"] == {"Ref": "ScavengerScheduleState"}
    assert TEMPLATE["Parameters"]["ScavengerScheduleState"]["Default"] == "DISABLED"
    invoked = [p["LambdaInvokePolicy"]["FunctionName"] for p in properties["Policies"] if "LambdaInvokePolicy" in p]
    assert invoked == [
        {"Ref": "LoadConfigFunction"},
        {"Ref": "FindLabourersWithWorkFunction"},
        {"Ref": "ScavengeLabourersFunction"},
    ]


def test_the_outputs_give_a_labourer_what_it_needs() -> None:
    outputs = TEMPLATE["Outputs"]
    assert outputs["WorkerAssistantFunctionArn"]["Value"] == {"Fn::GetAtt": ["WorkerAssistantFunction", "Arn"]}
    assert outputs["TaskDestinationFunctionArn"]["Value"] == {"Fn::GetAtt": ["TaskDestinationFunction", "Arn"]}
    assert outputs["DeadTasksTopicArn"]["Value"] == {"Ref": "DeadTasksTopic"}
    assert outputs["ScavengerArn"]["Value"] == {"Ref": "Scavenger"}
    assert outputs["LabourerPolicyArn"]["Value"] == {"Ref": "LabourerPolicy"}


# ---- OrchestratorType: one definition, deployed as a Standard or an Express workflow --------------------------------

EXPRESS_EXECUTION_SECONDS = 300
"""The most an Express execution may run (a Standard one, a year)."""


def _orchestrator_definition() -> dict[str, Any]:
    import json

    path = ROOT / TEMPLATE["Resources"]["Orchestrator"]["Properties"]["DefinitionUri"]
    definition: dict[str, Any] = json.loads(path.read_text())
    return definition


def test_the_orchestrator_type_is_a_parameter_standard_by_default() -> None:
    parameter = TEMPLATE["Parameters"]["OrchestratorType"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("STANDARD", ["STANDARD", "EXPRESS"])
    assert TEMPLATE["Resources"]["Orchestrator"]["Properties"]["Type"] == {"Ref": "OrchestratorType"}
    assert TEMPLATE["Conditions"]["ExpressOrchestrator"] == {"Fn::Equals": [{"Ref": "OrchestratorType"}, "EXPRESS"]}


def _logging(**parameters: str) -> dict[str, Any]:
    deployment = Deployment(
        str(ROOT / "template.yaml"),
        clients=None,
        parameters={"LabourerArns": "arn:aws:lambda:eu-west-1:111122223333:function:a", **parameters},
    )
    logging = TEMPLATE["Resources"]["Orchestrator"]["Properties"]["Logging"]
    return {key: deployment.resolve(logging[key]) for key in ("Level", "IncludeExecutionData")}


@pytest.mark.parametrize(
    ("parameters", "level", "data"),
    [
        ({}, "ERROR", "false"),
        ({"OrchestratorType": "EXPRESS"}, "ALL", "false"),  # Express has no history: its log is the console's
        ({"OrchestratorLogLevel": "OFF"}, "OFF", "false"),
        ({"OrchestratorType": "EXPRESS", "OrchestratorLogExecutionData": "true"}, "ALL", "true"),
    ],
)
def test_the_orchestrators_execution_log_is_the_operators_choice_without_payloads_by_default(
    parameters: dict[str, str], level: str, data: str
) -> None:
    # a Claim's output holds the task's payload: with execution data, every payload would be in the log
    logging = _logging(**parameters)
    assert (logging["Level"], str(logging["IncludeExecutionData"]).lower()) == (level, data)


def test_every_log_group_is_declared_with_the_retention_parameter() -> None:
    resources = TEMPLATE["Resources"]
    groups = {lid: r["Properties"] for lid, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    functions = [lid for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
    assert all(props["RetentionInDays"] == {"Ref": "LogRetentionDays"} for props in groups.values())
    assert TEMPLATE["Parameters"]["LogRetentionDays"]["Default"] == 30
    named = {props["LogGroupName"]["Fn::Sub"] for props in groups.values()}
    assert {f"/aws/lambda/${{{function}}}" for function in functions} <= named


def test_the_config_key_is_decrypted_only_through_ssm_or_s3() -> None:
    policy = TEMPLATE["Resources"]["ConfigReadPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (kms,) = [s["Fn::If"] for s in policy if "Fn::If" in s and s["Fn::If"][0] == "HasConfigKmsKey"]
    statement = kms[1]
    assert (statement["Action"], statement["Resource"]) == ("kms:Decrypt", {"Ref": "ConfigKmsKeyArn"})
    services = statement["Condition"]["StringEquals"]["kms:ViaService"]
    assert [service["Fn::Sub"] for service in services] == [
        "ssm.${AWS::Region}.amazonaws.com",
        "s3.${AWS::Region}.amazonaws.com",
    ]
    assert kms[2] == {"Ref": "AWS::NoValue"}


def test_the_lease_outlasts_every_execution_of_either_type() -> None:
    timeout = _orchestrator_definition()["TimeoutSeconds"]
    lease_seconds = TEMPLATE["Resources"]["ComputeEcologyFunction"]["Properties"]["Environment"]["Variables"]
    assert timeout <= EXPRESS_EXECUTION_SECONDS  # the same definition must be valid as an Express workflow
    assert lease_seconds["LEASE_SECONDS"] > timeout  # no run can still be claiming when its lease expires


def test_load_config_and_the_stack_know_the_orchestrator_type() -> None:
    variables = TEMPLATE["Resources"]["LoadConfigFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["ORCHESTRATOR_TYPE"] == {"Ref": "OrchestratorType"}  # the task budget's default and bound
    assert TEMPLATE["Outputs"]["OrchestratorType"]["Value"] == {"Ref": "OrchestratorType"}  # `foreman run` reads it


STATES_METRICS_OF_EXPRESS = {
    "ExecutionsStarted",
    "ExecutionsSucceeded",
    "ExecutionsFailed",
    "ExecutionsTimedOut",
    "ExecutionsAborted",
    "ExecutionThrottled",
    "ExecutionTime",
}
"""The AWS/States execution metrics Step Functions emits for Express workflows as for Standard ones."""


def test_alarms_and_dashboard_read_only_metrics_that_an_express_orchestrator_emits() -> None:
    import re

    dashboard = TEMPLATE["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    named = set(re.findall(r'\["AWS/States", "([A-Za-z]+)"', dashboard))
    for resource in TEMPLATE["Resources"].values():
        if resource["Type"] == "AWS::CloudWatch::Alarm" and resource["Properties"].get("Namespace") == "AWS/States":
            named.add(resource["Properties"]["MetricName"])
    assert "ExecutionsTimedOut" in named  # a run stopped at 300 s shows
    assert named <= STATES_METRICS_OF_EXPRESS  # nothing that needs an execution's history


def _config_read(parameters: dict[str, str]) -> tuple[str, str, list[dict[str, Any]]]:
    """With these parameters: LoadConfig's CONFIG_LOCATION, the ConfigLocation output, ConfigReadPolicy's statements."""

    class _NoClients:
        def __call__(self, service: str) -> Any:
            raise AssertionError("resolving the template makes no AWS call")

    deployment = Deployment(str(ROOT / "template.yaml"), clients=_NoClients(), parameters=parameters)
    resources = TEMPLATE["Resources"]
    variables = resources["LoadConfigFunction"]["Properties"]["Environment"]["Variables"]
    document = resources["ConfigReadPolicy"]["Properties"]["PolicyDocument"]
    return (
        deployment.resolve(variables["CONFIG_LOCATION"]),
        deployment.resolve(TEMPLATE["Outputs"]["ConfigLocation"]["Value"]),
        deployment.resolve(document["Statement"]),
    )


def test_the_config_is_read_from_s3_then_the_config_table_then_ssm_with_exactly_that_permission() -> None:
    region_account = "us-east-1:123456789012"  # the local deployer's region and account
    table = {"ConfigTableName": "config", "ConfigEnv": "dev", "ConfigName": "orchestrator"}
    bucket = {"ConfigBucketName": "my-configs", "ConfigObjectKey": "foreman/big.json"}
    cases = [
        ({}, "ssm:/foreman/orchestrator_config", ["ssm:GetParameter"],
         f"arn:aws:ssm:{region_account}:parameter/foreman/orchestrator_config"),
        (table, "dynamodb:config/dev/orchestrator", ["dynamodb:GetItem"],
         f"arn:aws:dynamodb:{region_account}:table/config"),
        ({**table, **bucket}, "s3:my-configs/foreman/big.json", ["s3:GetObject", "s3:GetObjectVersion"],
         "arn:aws:s3:::my-configs/foreman/big.json"),
    ]  # fmt: skip
    for parameters, location, actions, resource in cases:
        environment, output, statements = _config_read({"LabourerArns": f"{ARN_PREFIX}a", **parameters})
        assert environment == output == location
        assert [(_actions(s), s["Resource"]) for s in statements] == [(actions, resource)], parameters
    assert TEMPLATE["Parameters"]["ConfigBucketName"]["Default"] == ""
