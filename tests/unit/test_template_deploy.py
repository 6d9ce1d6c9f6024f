"""What a real deploy of ``template.yaml`` needs and the embedded stack does not check: physical names that do not
collide between two stacks in one account and region, tables that a rolled-back first create does not leave
behind, and schedules that do not burst after an outage.

The template is translated by the SAM translator itself (``aws-sam-translator``, offline), as ``sam deploy`` does,
and the physical names CloudFormation would create are read from its output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
ACCOUNT = "111122223333"

NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Events::Rule": "Name",
}
"""Each resource type's name property: when a template sets it, CloudFormation creates exactly that name (unique per
account and region, or per schedule group); when it does not, CloudFormation makes one from the stack name."""


def translate(parameters: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``template.yaml`` through the SAM translator, as ``sam deploy`` sends it to CloudFormation."""
    from cfnlint.decode import decode
    from samtranslator.translator.transform import transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    template, _ = decode(str(ROOT / "template.yaml"))
    assert template is not None
    template = json.loads(json.dumps(template))  # plain dicts
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            properties["CodeUri"] = f"s3://bucket/{logical_id}.zip"
        if resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in properties:
            properties["DefinitionUri"] = f"s3://bucket/{logical_id}.json"
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = f"s3://bucket/{logical_id}.zip"
    template["Globals"]["Function"].pop("CodeUri", None)

    class ManagedPolicies:  # the translator would otherwise list IAM's managed policies
        def load(self) -> dict[str, str]:
            return {}

    translated: dict[str, Any] = transform(template, parameters, ManagedPolicies())
    return translated


class UnresolvedError(Exception):
    """The value is only known once CloudFormation creates something (a GetAtt): not a name the template fixes."""


def resolve(value: Any, context: dict[str, str]) -> Any:
    """Evaluate ``Ref``, ``Fn::Sub`` and ``Fn::Join`` over parameters and pseudo parameters."""
    if isinstance(value, list):
        return [resolve(item, context) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        if value["Ref"] not in context:
            raise UnresolvedError(value["Ref"])
        return context[value["Ref"]]
    if set(value) == {"Fn::Sub"}:
        text, extra = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        names = {**context, **{key: resolve(item, context) for key, item in extra.items()}}

        def substitute(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                raise UnresolvedError(match.group(1))
            return str(names[match.group(1)])

        return re.sub(r"\$\{([^!}][^}]*)\}", substitute, text)
    if set(value) == {"Fn::Join"}:
        separator, items = value["Fn::Join"]
        return separator.join(str(resolve(item, context)) for item in items)
    raise UnresolvedError(next(iter(value)))


def fixed_names(translated: dict[str, Any], stack: str, parameters: dict[str, str]) -> dict[tuple[str, str], str]:
    """``{(resource type, physical name): logical id}`` for every name the translated template fixes."""
    context = {
        **{name: str(spec.get("Default", "")) for name, spec in translated.get("Parameters", {}).items()},
        **parameters,
        "AWS::StackName": stack,
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
    }
    names: dict[tuple[str, str], str] = {}
    for logical_id, resource in translated["Resources"].items():
        prop = NAME_PROPERTIES.get(resource["Type"])
        if prop is None or prop not in resource.get("Properties", {}):
            continue
        try:
            name = resolve(resource["Properties"][prop], context)
        except UnresolvedError:
            continue
        names[(resource["Type"], str(name))] = logical_id
    return names


def stack_parameters(prefix: str) -> dict[str, str]:
    """A second stack in the account must name its own tables (or share the first's with CreateTables=false)."""
    return {
        "LabourerArns": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{prefix}-worker",
        "TasksTableName": f"{prefix}_tasks",
        "ClosedTasksTableName": f"{prefix}_closed_tasks",
        "RetryTasksTableName": f"{prefix}_retry_tasks",
        "ConfigParameterName": f"/{prefix}/orchestrator_config",
    }


def test_two_stacks_in_one_account_fix_no_common_physical_name(monkeypatch: pytest.MonkeyPatch) -> None:
    first_parameters, second_parameters = stack_parameters("first"), stack_parameters("second")
    first = fixed_names(translate(first_parameters, monkeypatch), "foreman-first", first_parameters)
    second = fixed_names(translate(second_parameters, monkeypatch), "foreman-second", second_parameters)

    assert first, "the translated template fixes some names (tables, log groups): the test reads them"
    assert not set(first) & set(second), {name: first[name] for name in set(first) & set(second)}


def test_the_schedules_are_named_by_aws_and_retry_briefly(monkeypatch: pytest.MonkeyPatch) -> None:
    parameters = stack_parameters("one")
    schedules = {
        logical_id: resource["Properties"]
        for logical_id, resource in translate(parameters, monkeypatch)["Resources"].items()
        if resource["Type"] == "AWS::Scheduler::Schedule"
    }

    assert set(schedules) == {"OrchestratorSchedule", "ScavengerSchedule"}
    for logical_id, properties in schedules.items():
        assert "Name" not in properties, logical_id
        # A missed per-minute tick is worth retrying for a minute at most: after that the next tick does the work,
        # and the default (185 retries over 24 hours) would deliver a burst of overlapping runs after an outage.
        assert properties["Target"]["RetryPolicy"] == {"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 2}
        assert "DeadLetterConfig" not in properties["Target"], "a dropped tick carries no data worth keeping"


def test_tables_are_kept_on_delete_but_not_when_their_first_create_rolls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    translated = translate(stack_parameters("one"), monkeypatch)
    tables = {lid: r for lid, r in translated["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}

    assert set(tables) == {"TasksTable", "ClosedTasksTable", "RetryTasksTable", "CoordinationTable"}
    # Foreman's own coordination table holds only the lease, which no run outlives, under a name unique to the
    # stack: it goes with the stack
    assert "DeletionPolicy" not in tables.pop("CoordinationTable")
    for logical_id, table in tables.items():
        # Retain would leave a fixed-name table behind after a failed first create, and the next create would fail
        # with "already exists"; RetainExceptOnCreate removes only what that failed create made.
        assert table["DeletionPolicy"] == "RetainExceptOnCreate", logical_id
        assert table["UpdateReplacePolicy"] == "Retain", logical_id
