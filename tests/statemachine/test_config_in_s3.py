"""A config too large for SSM or a DynamoDB item lives in S3: the real template deployed with ConfigBucketName, the
Orchestrator and the Scavenger reading a config of 500 labourers (~450 KB) from a versioned bucket (issue 15)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from benchmarks.labourers import FLEET_ARNS, health_metrics, labourer_name, seed_health
from foreman.config_store import ConfigTooLargeError
from foreman.local.deployer import ACCOUNT, REGION
from foreman.local.stack import EmbeddedStack, Execution
from foreman_core.config import DEFAULT_COEFFICIENTS, Tables
from foreman_core.item_size import ITEM_BYTES
from foreman_core.task_store import TaskStore
from tests.statemachine.conftest import FakeLabourer, report_for

BUCKET = "foreman-config"
KEY = "foreman/orchestrator_config.json"
LABOURERS = 500
BUSY = (0, 100, 250, 499)
CAP = 4


def large_config(fakes: dict[int, str]) -> dict[str, Any]:
    """``LABOURERS`` labourers with three health metrics each; the busy ones at the ARNs in ``fakes``."""
    labourers = {}
    for number in range(LABOURERS):
        arn = fakes.get(number, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{labourer_name(number)}")
        labourers[labourer_name(number)] = {
            "arn": arn,
            "max_simultaneous_invocations": CAP,
            "health_metrics": health_metrics(number),
        }
    return {"task_config": {"labourers": labourers}}


@pytest.fixture
def in_s3() -> Iterator[EmbeddedStack]:
    parameters = {"LabourerArns": FLEET_ARNS, "LogLevel": "WARNING", "ConfigBucketName": BUCKET, "ConfigObjectKey": KEY}
    with EmbeddedStack(parameters=parameters) as embedded:
        s3 = embedded.client("s3")  # the bucket is the user's, made before deploying (the template only reads it)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield embedded


def load_config_reference(execution: Execution) -> dict[str, Any]:
    """The config reference LoadConfig handed on (the ``config`` of its output)."""
    for event in execution.history:
        details = event.get("stateExitedEventDetails") or {}
        if details.get("name") == "LoadConfig":
            return dict(json.loads(details["output"])["config"])
    raise AssertionError("no LoadConfig in the history")


def test_the_orchestrator_and_the_scavenger_read_a_config_too_large_for_ssm_and_dynamodb_from_s3(
    in_s3: EmbeddedStack,
) -> None:
    # Given 500 labourers with three health metrics each (more than a DynamoDB item, let alone an SSM parameter,
    # holds), stored where the stack says it reads its config; four of them busy and healthy
    assert in_s3.outputs["ConfigLocation"] == f"s3:{BUCKET}/{KEY}"
    fakes = {number: FakeLabourer() for number in BUSY}
    arns = {number: in_s3.add_function(labourer_name(number), fake) for number, fake in fakes.items()}
    config = large_config(arns)
    assert len(json.dumps(config)) > ITEM_BYTES
    in_s3.put_config(config)
    seed_health(in_s3, dict.fromkeys(BUSY, 10.0))
    store = TaskStore(in_s3.client("dynamodb"), Tables())
    for number in BUSY:
        store.create_tasks(labourer_name(number), [{"n": n} for n in range(6)])
    version = in_s3.client("s3").head_object(Bucket=BUCKET, Key=KEY)["VersionId"]

    run = in_s3.run()

    # Then the run succeeds with the config read from S3, pinned to the version it read: each busy labourer gets
    # its formula's invocations, every labourer has its line
    reference = load_config_reference(run)
    assert (reference["location"], reference["version"], reference["labourers"]) == (
        f"s3:{BUCKET}/{KEY}",
        version,
        LABOURERS,
    )
    expected = int(CAP * DEFAULT_COEFFICIENTS[4])
    for number in BUSY:
        line = report_for(run.output, labourer_name(number))
        assert (line["status"], line["invoked"]) == (4, expected), line
        assert len(fakes[number].events) == expected
    assert len(run.output["labourers"]) == LABOURERS

    # and the Scavenger reads the same config from S3
    scavenge = in_s3.run(state_machine="ScavengerArn")
    assert scavenge.status == "SUCCEEDED"
    assert load_config_reference(scavenge)["version"] == version


def test_a_config_too_large_for_ssm_is_refused_before_it_is_stored_as_parameter_store_refuses_it(
    stack: EmbeddedStack,
) -> None:
    # Given the default deployment, whose config is an SSM parameter
    assert stack.outputs["ConfigLocation"].startswith("ssm:")
    config = large_config({})
    name = stack.outputs["ConfigLocation"][len("ssm:") :]

    # Then put_config refuses it, naming the size, the limit and where it would fit
    with pytest.raises(ConfigTooLargeError, match="an SSM parameter value holds at most 8,192") as refused:
        stack.put_config(config)
    assert "ConfigBucketName" in str(refused.value)
    # and so does the embedded stack's Parameter Store, as AWS does (moto alone would store it)
    with pytest.raises(ClientError) as error:
        stack.client("ssm").put_parameter(
            Name=name, Value=json.dumps(config), Type="String", Tier="Advanced", Overwrite=True
        )
    assert error.value.response["Error"]["Code"] == "ValidationException"
