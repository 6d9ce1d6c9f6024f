"""LoadConfig refuses what the deployment's IAM policies do not allow: labourers outside LabourerArns, other indexes."""

from __future__ import annotations

from pathlib import Path

import pytest

from foreman.local.deployer import load_template
from foreman_core import run
from foreman_core.config import ConfigError, Tables, parse_config
from foreman_core.labourer_arns import LabourerArns

HERE = "arn:aws:lambda:eu-west-1:111122223333:function:foreman-LoadConfigFunction-ABC"
WORKER = "arn:aws:lambda:eu-west-1:111122223333:function:worker"
ARNS = LabourerArns.of(f"{WORKER},arn:aws:lambda:eu-west-1:111122223333:function:batch-*", function_arn=HERE)


@pytest.mark.parametrize(
    "configured",
    [
        WORKER,
        f"{WORKER}:live",  # an alias
        f"{WORKER}:7",  # a version
        "worker",  # a name: a function in the deployment's own account and region
        "111122223333:function:worker",
        "batch-nightly",  # matched by a wildcard, as IAM matches it
    ],
)
def test_what_iam_allows_is_allowed(configured: str) -> None:
    assert ARNS.allows(configured)


@pytest.mark.parametrize(
    "configured",
    [
        "arn:aws:lambda:eu-west-1:111122223333:function:worker2",
        "arn:aws:lambda:us-east-1:111122223333:function:worker",  # another region
        "444455556666:function:worker",  # another account
        "workers",
        "batch",
    ],
)
def test_what_iam_denies_is_refused(configured: str) -> None:
    assert not ARNS.allows(configured)


def _config(**task_config: object) -> object:
    return parse_config({"task_config": {"labourers": {"reports": {"arn": "reports"}}, **task_config}})


def test_load_config_names_the_labourers_path_and_the_allowed_arns() -> None:
    with pytest.raises(ConfigError) as refused:
        run.load_config(_config(), now=0, execution=None, deployment=Tables(), labourer_arns=ARNS)  # type: ignore[arg-type]

    ((path, reason),) = refused.value.problems
    assert path == "task_config.labourers.reports.arn"
    assert reason.startswith("'reports' is not in this deployment's LabourerArns (")
    assert WORKER in reason


def test_load_config_names_an_index_the_deployment_may_not_query_and_the_one_it_may() -> None:
    config = _config(dynamo_db_config={"index_greenfield": "by_labourer"}, sosw_retry_tasks_greenfield_index="by_time")

    with pytest.raises(ConfigError) as refused:
        run.load_config(config, now=0, execution=None, deployment=Tables())  # type: ignore[arg-type]

    assert refused.value.problems == [
        (
            "task_config.dynamo_db_config.index_greenfield",
            "names index 'by_labourer', but this deployment's index is 'sosw_tasks_greenfield'",
        ),
        (
            "task_config.sosw_retry_tasks_greenfield_index",
            "names index 'by_time', but this deployment's index is 'labourer_id_greenfield'",
        ),
    ]


TEMPLATE = load_template(str(Path(__file__).resolve().parents[2] / "template.yaml"))


def test_the_functions_are_told_the_indexes_their_policies_allow_and_load_config_the_labourer_arns() -> None:
    environment = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    text = str(TEMPLATE["Resources"])
    index_arns = {part.split("/index/")[1].split("'")[0] for part in text.split("table/")[1:] if "/index/" in part}

    assert index_arns == {environment["GREENFIELD_INDEX"], environment["RETRY_INDEX"]}
    tasks, retry = (TEMPLATE["Resources"][name]["Properties"] for name in ("TasksTable", "RetryTasksTable"))
    assert [index["IndexName"] for index in tasks["GlobalSecondaryIndexes"]] == [environment["GREENFIELD_INDEX"]]
    assert [index["IndexName"] for index in retry["LocalSecondaryIndexes"]] == [environment["RETRY_INDEX"]]
    load_config = TEMPLATE["Resources"]["LoadConfigFunction"]["Properties"]["Environment"]["Variables"]
    assert load_config["LABOURER_ARNS"] == {"Fn::Join": [",", {"Ref": "LabourerArns"}]}
