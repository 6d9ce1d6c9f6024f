"""Reliability, bad input: at least thirty malformed configs, each failing the run with its path, losing nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from foreman.local.stack import EmbeddedStack, ExecutionFailedError
from foreman_core.config import Tables
from foreman_core.task_store import TaskStore
from tests.conservation import QUEUED, assert_conserved
from tests.statemachine.conftest import LABOURER_ARNS, cpu_metric

A = "task_config.labourers.worker-a"
MALFORMED_CONFIGS: list[tuple[str, dict[str, Any], str]] = [
    ("no task_config", {"labourers": {}}, "labourers"),
    ("task_config not an object", {"task_config": []}, "task_config"),
    ("unknown top-level key", {"task_config": {}, "max_tasks": 5}, "max_tasks"),
    ("budget zero", {"task_config": {}, "max_tasks_per_execution": 0}, "max_tasks_per_execution"),
    ("budget a string", {"task_config": {}, "max_tasks_per_execution": "many"}, "max_tasks_per_execution"),
    (
        "coefficient above 1",
        {"task_config": {}, "invocation_number_coefficient": {"4": 1.5}},
        "invocation_number_coefficient.4",
    ),
    (
        "coefficient for status 7",
        {"task_config": {}, "invocation_number_coefficient": {"7": 0.5}},
        "invocation_number_coefficient.7",
    ),
    ("labourers a list", {"task_config": {"labourers": []}}, "task_config.labourers"),
    ("missing arn", {"task_config": {"labourers": {"worker-a": {}}}}, f"{A}.arn"),
    (
        "arn not a lambda",
        {"task_config": {"labourers": {"worker-a": {"arn": "arn:aws:sqs:us-east-1:1:q"}}}},
        f"{A}.arn",
    ),
    (
        "misspelt cap",
        {"task_config": {"labourers": {"worker-a": {"arn": "w", "max_simultanous_invocations": 2}}}},
        f"{A}.max_simultanous_invocations",
    ),
    (
        "negative cap",
        {"task_config": {"labourers": {"worker-a": {"arn": "w", "max_simultaneous_invocations": -1}}}},
        f"{A}.max_simultaneous_invocations",
    ),
    (
        "cap a bool",
        {"task_config": {"labourers": {"worker-a": {"arn": "w", "max_simultaneous_invocations": True}}}},
        f"{A}.max_simultaneous_invocations",
    ),
    (
        "cap a fraction",
        {"task_config": {"labourers": {"worker-a": {"arn": "w", "max_simultaneous_invocations": 2.5}}}},
        f"{A}.max_simultaneous_invocations",
    ),
    (
        "zero attempts",
        {"task_config": {"labourers": {"worker-a": {"arn": "w", "max_attempts": 0}}}},
        f"{A}.max_attempts",
    ),
    ("zero duration", {"task_config": {"labourers": {"worker-a": {"arn": "w", "duration": 0}}}}, f"{A}.duration"),
    ("negative cooldown", {"task_config": {"labourers": {"worker-a": {"arn": "w", "cooldown": -5}}}}, f"{A}.cooldown"),
    ("computed attribute", {"task_config": {"labourers": {"worker-a": {"arn": "w", "expired": 5}}}}, f"{A}.expired"),
    (
        "health metrics a list",
        {"task_config": {"labourers": {"worker-a": {"arn": "w", "health_metrics": []}}}},
        f"{A}.health_metrics",
    ),
    (
        "attempts for an unknown labourer",
        {"task_config": {"max_attempts_worker_z": 2, "labourers": {"worker-a": {"arn": "w"}}}},
        "task_config.max_attempts_worker_z",
    ),
    (
        "renamed column",
        {"task_config": {"dynamo_db_config": {"field_names": {"task_id": "id"}}}},
        "task_config.dynamo_db_config.field_names.task_id",
    ),
    ("unknown dynamo key", {"task_config": {"dynamo_db_config": {"table": "x"}}}, "task_config.dynamo_db_config.table"),
    (
        "empty closed table name",
        {"task_config": {"sosw_closed_tasks_table": ""}},
        "task_config.sosw_closed_tasks_table",
    ),
    ("zero task step", {"task_config": {"greenfield_task_step": 0}}, "task_config.greenfield_task_step"),
    (
        "no-data status 9",
        {"task_config": {"ecology_config": {"no_data_status": 9}}},
        "task_config.ecology_config.no_data_status",
    ),
    ("max tasks a string", {"task_config": {"max_attempts": "3"}}, "task_config.max_attempts"),
    # What the deployment's IAM policies do not allow: on AWS, denied on every invoke or query of every run
    ("labourer not in LabourerArns", {"task_config": {"labourers": {"worker-a": {"arn": "intruder"}}}}, f"{A}.arn"),
    (
        "greenfield index IAM does not allow",
        {"task_config": {"dynamo_db_config": {"index_greenfield": "by_labourer"}}},
        "task_config.dynamo_db_config.index_greenfield",
    ),
    (
        "retry index IAM does not allow",
        {"task_config": {"sosw_retry_tasks_greenfield_index": "by_time"}},
        "task_config.sosw_retry_tasks_greenfield_index",
    ),
]
M = f"{A}.health_metrics.cpu"


def _with_metric(**changes: Any) -> dict[str, Any]:
    metric = cpu_metric("db", {3: 50, 4: 25})
    for key, value in changes.items():
        if key.startswith("details_"):
            metric["details"][key.removeprefix("details_")] = value
        elif value is None:
            metric.pop(key)
        else:
            metric[key] = value
    return {"task_config": {"labourers": {"worker-a": {"arn": "w", "health_metrics": {"cpu": metric}}}}}


MALFORMED_CONFIGS += [
    ("thresholds out of order for <=", _with_metric(feelings={3: 25, 4: 50}), f"{M}.feelings"),
    (
        "thresholds out of order for >=",
        _with_metric(feelings={3: 90, 4: 50}, feeling_comparison_operator=">="),
        f"{M}.feelings",
    ),
    ("unknown status 5", _with_metric(feelings={5: 10, 4: 25}), f"{M}.feelings.5"),
    ("unknown operator", _with_metric(feeling_comparison_operator="=~"), f"{M}.feeling_comparison_operator"),
    ("no operator", _with_metric(feeling_comparison_operator=None), f"{M}.feeling_comparison_operator"),
    ("no feelings", _with_metric(feelings=None), f"{M}.feelings"),
    ("two statistics", _with_metric(details_Statistics=["Average", "Maximum"]), f"{M}.details.Statistics"),
    ("unknown statistic", _with_metric(details_Statistics=["Median"]), f"{M}.details.Statistics.0"),
    ("Name and MetricName", _with_metric(details_Name="CPU"), f"{M}.details"),
    ("zero period", _with_metric(details_Period=0), f"{M}.details.Period"),
    ("unknown details key", _with_metric(details_Stat="Average"), f"{M}.details.Stat"),
]


@pytest.fixture(scope="module")
def config_stack() -> Iterator[tuple[EmbeddedStack, list[str]]]:
    """One stack for all the malformed configs (deploying one per case would double the time), with two queued tasks
    that no case may touch."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.setenv(name, "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        with EmbeddedStack(parameters={"LabourerArns": LABOURER_ARNS, "LogLevel": "WARNING"}) as stack:
            store = TaskStore(stack.client("dynamodb"), Tables())
            created = [task.task_id for task in store.create_tasks("worker-a", [{"n": 1}, {"n": 2}])]
            yield stack, created


@pytest.mark.parametrize(
    ("config", "path"), [(c, p) for _, c, p in MALFORMED_CONFIGS], ids=[n for n, _, _ in MALFORMED_CONFIGS]
)
def test_a_malformed_config_fails_the_run_naming_the_path_and_loses_nothing(
    config_stack: tuple[EmbeddedStack, list[str]], config: dict[str, Any], path: str
) -> None:
    stack, created = config_stack
    stack.put_config(config)

    with pytest.raises(ExecutionFailedError) as failure:
        stack.run()

    assert failure.value.execution["error"] == "ConfigError"
    assert f"- {path}:" in failure.value.execution["cause"]
    assert_conserved(stack.client("dynamodb"), created, now=time.time(), expected={QUEUED: 2})


def test_there_are_at_least_thirty_malformed_configs() -> None:
    assert len(MALFORMED_CONFIGS) >= 30


def test_a_labourer_the_deployment_may_not_invoke_is_refused_naming_the_allowed_arns(
    config_stack: tuple[EmbeddedStack, list[str]],
) -> None:
    stack, created = config_stack
    intruder = stack.add_function("intruder", lambda event, context: None)  # exists, but not in LabourerArns
    stack.put_config({"task_config": {"labourers": {"worker-a": {"arn": intruder, "max_simultaneous_invocations": 2}}}})

    with pytest.raises(ExecutionFailedError) as failure:
        stack.run()

    cause = failure.value.execution["cause"]
    assert f"- {A}.arn: '{intruder}' is not in this deployment's LabourerArns" in cause
    assert all(arn in cause for arn in LABOURER_ARNS.split(","))
    assert stack.runtime.calls("intruder") == []
    assert_conserved(stack.client("dynamodb"), created, now=time.time(), expected={QUEUED: 2})
