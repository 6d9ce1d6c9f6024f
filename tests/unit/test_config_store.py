"""config_store: where a config fits, and what is called to store it (a fake client; no network)."""

from __future__ import annotations

from typing import Any

import pytest

from foreman.config_store import (
    SSM_ADVANCED_CHARACTERS,
    SSM_TIER,
    ConfigTooLargeError,
    size_problem,
    store_config,
)
from foreman_core.item_size import ITEM_BYTES


class Recorder:
    """A client factory whose clients record each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, service: str) -> Any:
        recorder = self

        class Client:
            def __getattr__(self, operation: str) -> Any:
                return lambda **kwargs: recorder.calls.append((service, operation, kwargs))

        return Client()


def test_an_ssm_parameter_takes_up_to_8192_characters_in_the_intelligent_tier() -> None:
    calls = Recorder()
    store_config(calls, "ssm:/foreman/c", "x" * SSM_ADVANCED_CHARACTERS)
    [(service, operation, request)] = calls.calls
    assert (service, operation, request["Tier"], request["Overwrite"]) == ("ssm", "put_parameter", SSM_TIER, True)
    assert size_problem("ssm:/foreman/c", "x" * SSM_ADVANCED_CHARACTERS) is None


def test_a_value_over_8192_characters_is_refused_before_any_call_naming_size_limit_and_remedy() -> None:
    calls = Recorder()
    with pytest.raises(ConfigTooLargeError) as refused:
        store_config(calls, "ssm:/foreman/c", "x" * 9000)
    assert calls.calls == []
    message = str(refused.value)
    assert "9,000 characters" in message
    assert "at most 8,192 (Advanced tier; 4,096 in the Standard tier)" in message
    assert "ConfigBucketName" in message
    assert "ConfigTableName, up to 400 KB" in message


def test_a_config_table_row_takes_up_to_400_kb_names_and_key_included() -> None:
    location = "dynamodb:config/production/sosw_orchestrator_config"
    overhead = len("envproductionconfig_namesosw_orchestrator_configconfig_value")
    assert size_problem(location, "x" * (ITEM_BYTES - overhead)) is None
    problem = size_problem(location, "x" * (ITEM_BYTES - overhead + 1))
    assert problem is not None
    assert f"would be {ITEM_BYTES + 1:,} bytes; a DynamoDB item holds at most 409,600" in problem
    calls = Recorder()
    store_config(calls, location, "{}")
    assert calls.calls[0][:2] == ("dynamodb", "put_item")
    assert calls.calls[0][2]["Item"]["config_value"] == {"S": "{}"}


def test_an_s3_object_takes_any_config() -> None:
    calls = Recorder()
    store_config(calls, "s3:bucket/foreman/c.json", "x" * 1_000_000)
    [(service, operation, request)] = calls.calls
    assert (service, operation, request["Bucket"], request["Key"]) == ("s3", "put_object", "bucket", "foreman/c.json")
    assert request["ContentType"] == "application/json"


@pytest.mark.parametrize("location", ["file:c.json", "s3:bucket", "dynamodb:config/production"])
def test_a_location_it_cannot_write_is_a_value_error(location: str) -> None:
    with pytest.raises(ValueError, match="cannot store a config at"):
        store_config(Recorder(), location, "{}")
