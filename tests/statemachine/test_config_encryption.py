"""A config under a customer-managed KMS key (issue 23): read when the stack grants the key (ConfigKmsKeyArn), and
refused with an error naming the key when it does not, as AWS refuses it (the embedded stack reproduces AWS's
answers: ``foreman.local.kms_grants``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from foreman.local.deployer import ACCOUNT, REGION
from foreman.local.stack import EmbeddedStack, ExecutionFailedError
from tests.statemachine.conftest import FakeLabourer, labourer_config, report_for

KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0000abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = "foreman-config"
OBJECT = "foreman/orchestrator_config.json"


def _config(stack: EmbeddedStack) -> str:
    return json.dumps({"task_config": {"labourers": {"worker-a": labourer_config(
        stack.add_function("worker-a", FakeLabourer()), 2)}}})  # fmt: skip


def _in_ssm(stack: EmbeddedStack, key: str) -> None:
    location = str(stack.outputs["ConfigLocation"]).removeprefix("ssm:")
    stack.client("ssm").put_parameter(Name=location, Value=_config(stack), Type="SecureString", KeyId=key)


def _in_s3(stack: EmbeddedStack, key: str) -> None:
    stack.create_config_bucket()
    stack.client("s3").put_object(
        Bucket=BUCKET, Key=OBJECT, Body=_config(stack).encode(), ServerSideEncryption="aws:kms", SSEKMSKeyId=key
    )


@pytest.fixture(params=["ssm", "s3"])
def place(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _stack(place: str, granted: str) -> EmbeddedStack:
    parameters = {"ConfigKmsKeyArn": granted, "LogLevel": "ERROR"}
    if place == "s3":
        parameters.update(ConfigBucketName=BUCKET, ConfigObjectKey=OBJECT)
    return EmbeddedStack(parameters=parameters)


@pytest.fixture
def granted(place: str) -> Iterator[EmbeddedStack]:
    with _stack(place, KEY) as stack:
        yield stack


@pytest.fixture
def not_granted(place: str) -> Iterator[EmbeddedStack]:
    with _stack(place, "") as stack:
        yield stack


def test_a_config_under_the_granted_key_is_read(granted: EmbeddedStack, place: str) -> None:
    (_in_ssm if place == "ssm" else _in_s3)(granted, KEY)
    output = granted.run().output
    assert report_for(output, "worker-a")["status"] == 4


def test_a_config_under_a_key_not_granted_fails_the_run_naming_the_key(not_granted: EmbeddedStack, place: str) -> None:
    # Given a config encrypted with a customer-managed key the stack was not given (ConfigKmsKeyArn empty)
    (_in_ssm if place == "ssm" else _in_s3)(not_granted, KEY)

    # When the Orchestrator runs, LoadConfig is refused the decryption, as on AWS
    with pytest.raises(ExecutionFailedError) as failure:
        not_granted.run()

    # Then the run's error names the key and what to do, not a bare "access denied"
    cause = str(failure.value)
    assert KEY.rsplit("/", 1)[1] in cause
    assert "ConfigKmsKeyArn" in cause


def test_a_config_under_another_key_than_the_one_granted_names_both(place: str) -> None:
    with _stack(place, OTHER) as stack:
        (_in_ssm if place == "ssm" else _in_s3)(stack, KEY)
        with pytest.raises(ExecutionFailedError) as failure:
            stack.run()
    cause = str(failure.value)
    assert KEY.rsplit("/", 1)[1] in cause
    assert OTHER in cause  # what the deployment grants instead


def test_the_aws_managed_key_needs_no_grant() -> None:
    with _stack("ssm", "") as stack:
        _in_ssm(stack, "alias/aws/ssm")
        assert report_for(stack.run().output, "worker-a")["status"] == 4
