"""The template's observability: every alarm and dashboard graph names a metric the code emits (telemetry.py),
with the dimensions it is emitted with; the dashboard body is valid JSON; every state machine pages on failure."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from foreman.local.deployer import load_template
from foreman_core import telemetry

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(str(ROOT / "template.yaml"))


AWS_STATES_METRICS = frozenset(
    {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted", "ExecutionsSucceeded", "ExecutionTime"}
)
"""The Step Functions metrics alarms and widgets may name (AWS emits them; Foreman does not)."""


def _resources_of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in TEMPLATE["Resources"].items()
        if resource["Type"] == resource_type
    }


def _alarm_metrics(properties: dict[str, Any]) -> list[tuple[Any, str, list[dict[str, Any]]]]:
    """(Namespace, MetricName, Dimensions) of every metric an alarm reads, plain or in its metric math."""
    if "MetricName" in properties:
        return [(properties["Namespace"], properties["MetricName"], properties.get("Dimensions", []))]
    found = []
    for query in properties["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            found.append((metric["Namespace"], metric["MetricName"], metric.get("Dimensions", [])))
    return found


def test_every_alarm_watches_a_metric_the_code_emits_with_the_dimensions_it_emits() -> None:
    alarms = _resources_of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) >= 5
    for logical_id, properties in alarms.items():
        for namespace, name, dimensions in _alarm_metrics(properties):
            names = tuple(sorted(dimension["Name"] for dimension in dimensions))
            if namespace == {"Ref": "MetricsNamespace"}:
                assert name in telemetry.metric_names(), f"{logical_id}: {name} is not in telemetry.METRICS"
                assert names in telemetry.dimension_sets(name), f"{logical_id}: {name} is not emitted with {names}"
            else:
                assert (namespace, names) == ("AWS/States", ("StateMachineArn",)), logical_id
                assert name in AWS_STATES_METRICS, f"{logical_id}: {name}"


def test_every_state_machine_pages_when_an_execution_fails() -> None:
    machines = set(_resources_of_type("AWS::Serverless::StateMachine"))
    watched = {
        dimension["Value"]["Ref"]
        for properties in _resources_of_type("AWS::CloudWatch::Alarm").values()
        for namespace, name, dimensions in _alarm_metrics(properties)
        if (namespace, name) == ("AWS/States", "ExecutionsFailed")
        for dimension in dimensions
    }
    assert watched == machines


@pytest.mark.parametrize("metric", ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"])
def test_every_state_machine_pages_on_every_way_an_execution_can_end_badly(metric: str) -> None:
    """A run that passes ``TimeoutSeconds`` (retries that sleep for real on AWS) ends TIMED_OUT, one stopped by
    StopExecution ends ABORTED: neither counts in ``ExecutionsFailed``, and either can leave the lease held and tasks
    claimed but never invoked, so each pages on its own, for both state machines, at the first one."""
    machines = set(_resources_of_type("AWS::Serverless::StateMachine"))
    watching = {
        dimension["Value"]["Ref"]: properties
        for properties in _resources_of_type("AWS::CloudWatch::Alarm").values()
        for namespace, name, dimensions in _alarm_metrics(properties)
        if (namespace, name) == ("AWS/States", metric)
        for dimension in dimensions
    }
    assert set(watching) == machines
    for properties in watching.values():
        assert properties["Statistic"] == "Sum"
        assert properties["Threshold"] == 1
        assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert properties["TreatMissingData"] == "notBreaching"


def test_alarms_notify_the_alarm_topic_and_the_email_subscription_is_optional() -> None:
    for logical_id, properties in _resources_of_type("AWS::CloudWatch::Alarm").items():
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id
        assert properties["OKActions"] == [{"Ref": "AlarmTopic"}], logical_id
    subscription = TEMPLATE["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert TEMPLATE["Parameters"]["AlarmEmail"]["Default"] == ""


def test_the_metrics_namespace_is_a_parameter_handed_to_every_function() -> None:
    assert TEMPLATE["Parameters"]["MetricsNamespace"]["Default"] == telemetry.DEFAULT_NAMESPACE
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables[telemetry.NAMESPACE_ENV] == {"Ref": "MetricsNamespace"}
    assert TEMPLATE["Globals"]["Function"]["Tracing"] == "Active"


def _rendered_dashboard() -> dict[str, Any]:
    """The DashboardBody as CloudFormation would render it, with placeholders for references (parameter defaults for
    parameters, so numbers stay numbers) and ``${!x}`` turned into the literal ``${x}``."""
    body = TEMPLATE["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    parameters = TEMPLATE["Parameters"]

    def placeholder(match: re.Match[str]) -> str:
        literal, reference = match.groups()
        if literal:
            return "${" + reference + "}"
        if reference in parameters:
            return str(parameters[reference]["Default"])
        assert reference.split(".")[0] in TEMPLATE["Resources"] or reference.startswith("AWS::"), reference
        return f"placeholder-{reference}"

    rendered: dict[str, Any] = json.loads(re.sub(r"\$\{(!?)([^}]*)\}", placeholder, body))
    return rendered


def _searched_metric_names(dashboard: dict[str, Any]) -> set[str]:
    expressions = [
        entry["expression"]
        for widget in dashboard["widgets"]
        for row in widget["properties"].get("metrics", [])
        for entry in row
        if isinstance(entry, dict) and "expression" in entry
    ]
    for expression in expressions:
        assert expression.startswith('SEARCH(\'{"Foreman",Labourer} MetricName="'), expression
    return {name for expression in expressions for name in re.findall(r'MetricName="([^"]+)"', expression)}


def test_the_dashboard_body_is_json_and_graphs_only_emitted_metrics_per_labourer() -> None:
    dashboard = _rendered_dashboard()
    searched = _searched_metric_names(dashboard)
    assert searched <= telemetry.metric_names()
    # per-labourer health, running vs cap, invocations, queue depth, dead tasks
    assert {
        "HealthStatus",
        "Running",
        "Cap",
        "Invoked",
        "QueueDepth",
        "OldestQueuedAgeSeconds",
        "DeadTasks",
    } <= searched
    plain = {
        tuple(row[:2])
        for widget in dashboard["widgets"]
        for row in widget["properties"].get("metrics", [])
        if isinstance(row[0], str)
    }
    assert ("AWS/States", "ExecutionsFailed") in plain  # execution failures
    assert {name for _, name in plain} <= AWS_STATES_METRICS


def test_the_dashboard_shows_every_alarm_and_fits_the_grid() -> None:
    dashboard = _rendered_dashboard()
    (alarm_widget,) = [widget for widget in dashboard["widgets"] if widget["type"] == "alarm"]
    alarms = {f"placeholder-{logical_id}.Arn" for logical_id in _resources_of_type("AWS::CloudWatch::Alarm")}
    assert set(alarm_widget["properties"]["alarms"]) == alarms
    for widget in dashboard["widgets"]:
        assert widget["x"] + widget["width"] <= 24
