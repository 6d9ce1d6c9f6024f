"""config_source on moto: a config read from a file, SSM, sosw's DynamoDB config table or S3, cached for a TTL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from foreman_core import config_source
from foreman_core.config import ConfigError, Tables
from foreman_core.config_source import (
    ConfigChangedError,
    ConfigReference,
    ConfigSourceError,
    DynamoDbLocation,
    FileLocation,
    S3Location,
    SsmLocation,
    clear_cache,
    load_for_run,
    load_pinned,
    load_raw_config,
    parse_location,
)
from tests.fixtures.seed_config import SEED_CONFIG

pytestmark = pytest.mark.usefixtures("empty_config_cache")

SEED_JSON = Path(__file__).parent.parent / "fixtures" / "seed_config.json"
PARAMETER = "/foreman/orchestrator_config"
CONFIG_TABLE = "config"
LISTED_FORMS = (
    "expected one of: file:<path>, <path>.json, ssm:<parameter name>, dynamodb:<table>/<env>/<config_name>, "
    "s3:<bucket>/<key>"
)
BUCKET = "foreman-config"
KEY = "foreman/orchestrator_config.json"
S3_LOCATION = f"s3:{BUCKET}/{KEY}"


def with_cap(cap: int) -> dict[str, Any]:
    """The seed config (JSON form) with ``some_function``'s cap set to ``cap``."""
    raw = json.loads(json.dumps(SEED_CONFIG))
    raw["task_config"]["labourers"]["some_function"]["max_simultaneous_invocations"] = cap
    return raw


def load_config(location: str, **kwargs: Any) -> Any:
    """The config ``load_for_run`` reads (the reference aside)."""
    return load_for_run(location, **kwargs)[0]


def cap_of(location: str, **kwargs: Any) -> int:
    return load_config(location, **kwargs).labourer("some_function").max_simultaneous_invocations


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def ssm(aws: None) -> Any:
    return boto3.client("ssm")


@pytest.fixture
def config_table(aws: None) -> Any:
    """sosw's config table: hash ``env``, range ``config_name``."""
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=CONFIG_TABLE,
        KeySchema=[{"AttributeName": "env", "KeyType": "HASH"}, {"AttributeName": "config_name", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "env", "AttributeType": "S"},
            {"AttributeName": "config_name", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def put_config_row(client: Any, value: str, *, env: str = "production", name: str = "sosw_orchestrator_config") -> None:
    item = {"env": {"S": env}, "config_name": {"S": name}, "config_value": {"S": value}}
    client.put_item(TableName=CONFIG_TABLE, Item=item)


# ---- locations --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("file:conf/a.json", FileLocation("file:conf/a.json", Path("conf/a.json"))),
        ("file:///etc/foreman.json", FileLocation("file:///etc/foreman.json", Path("/etc/foreman.json"))),
        ("conf/orchestrator.json", FileLocation("conf/orchestrator.json", Path("conf/orchestrator.json"))),
        ("ssm:/foreman/orchestrator_config", SsmLocation("ssm:/foreman/orchestrator_config", PARAMETER)),
        (
            "dynamodb:config/production/a/b",
            DynamoDbLocation("dynamodb:config/production/a/b", "config", "production", "a/b"),
        ),
        (S3_LOCATION, S3Location(S3_LOCATION, BUCKET, KEY)),
        ("s3://bucket/config.json", S3Location("s3://bucket/config.json", "bucket", "config.json")),
    ],
)
def test_location_forms(location: str, expected: object) -> None:
    assert parse_location(location) == expected


@pytest.mark.parametrize(
    "location",
    [
        "",
        "s3:bucket",
        "s3:/config.json",
        "ssm:",
        "file:",
        "dynamodb:config/production",
        "dynamodb:config//x",
        "x",
        "https://example.com/c.json",
    ],
)
def test_unknown_location_lists_the_accepted_forms(location: str) -> None:
    with pytest.raises(ConfigSourceError, match=re.escape(LISTED_FORMS)):
        load_raw_config(location)


# ---- file -------------------------------------------------------------------------------------------------------


def test_file_location_loads_the_seed() -> None:
    config = load_config(f"file:{SEED_JSON}")
    assert config.labourer("some_function").max_simultaneous_invocations == 10
    assert load_config(str(SEED_JSON)) == config


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigSourceError, match=r"^file:.*nope\.json: no such file"):
        load_raw_config(f"file:{tmp_path / 'nope.json'}")


def test_file_with_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{\n  "task_config": {\n    ,\n  }\n}\n')
    with pytest.raises(ConfigSourceError) as caught:
        load_raw_config(f"file:{path}")
    assert str(caught.value).startswith(f"file:{path}: invalid JSON at line 3 column 5: ")


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("[]")
    with pytest.raises(ConfigSourceError, match="expected a JSON object with 'task_config', got list"):
        load_raw_config(str(path))


def test_invalid_config_raises_the_config_error(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(with_cap(-1)))
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    assert caught.value.paths == ["task_config.labourers.some_function.max_simultaneous_invocations"]


# ---- SSM --------------------------------------------------------------------------------------------------------


def test_ssm_parameter(ssm: Any) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=SEED_JSON.read_text(), Type="String")
    assert cap_of(f"ssm:{PARAMETER}") == 10


def test_ssm_secure_string_is_decrypted(ssm: Any) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps(with_cap(4)), Type="SecureString")
    assert load_raw_config(f"ssm:{PARAMETER}") == with_cap(4)


def test_ssm_parameter_not_found(ssm: Any) -> None:
    with pytest.raises(ConfigSourceError, match=r"^ssm:/x: parameter not found$"):
        load_raw_config("ssm:/x")


def test_ssm_parameter_with_invalid_json(ssm: Any) -> None:
    ssm.put_parameter(Name=PARAMETER, Value="{not json", Type="String")
    with pytest.raises(ConfigSourceError, match=rf"^ssm:{PARAMETER}: invalid JSON at line 1 column 2: "):
        load_raw_config(f"ssm:{PARAMETER}")


# ---- DynamoDB config table --------------------------------------------------------------------------------------


def test_dynamodb_config_row(config_table: Any) -> None:
    put_config_row(config_table, SEED_JSON.read_text())
    assert cap_of("dynamodb:config/production/sosw_orchestrator_config") == 10


def test_dynamodb_reads_the_named_env(config_table: Any) -> None:
    put_config_row(config_table, json.dumps(with_cap(2)), env="dev")
    put_config_row(config_table, json.dumps(with_cap(3)))
    assert cap_of("dynamodb:config/dev/sosw_orchestrator_config") == 2


def test_dynamodb_missing_item(config_table: Any) -> None:
    with pytest.raises(ConfigSourceError) as caught:
        load_raw_config("dynamodb:config/production/name")
    assert str(caught.value) == "dynamodb:config/production/name: no item with env='production' and config_name='name'"


def test_dynamodb_missing_table(aws: None) -> None:
    with pytest.raises(ConfigSourceError, match=r"^dynamodb:nope/production/name: table 'nope' not found$"):
        load_raw_config("dynamodb:nope/production/name")


def test_dynamodb_item_without_config_value(config_table: Any) -> None:
    config_table.put_item(TableName=CONFIG_TABLE, Item={"env": {"S": "production"}, "config_name": {"S": "name"}})
    with pytest.raises(ConfigSourceError, match="no string \\(S\\) attribute 'config_value'"):
        load_raw_config("dynamodb:config/production/name")


def test_dynamodb_invalid_json(config_table: Any) -> None:
    put_config_row(config_table, "nope", name="name")
    with pytest.raises(ConfigSourceError, match=r"^dynamodb:config/production/name: invalid JSON at line 1 column 1: "):
        load_raw_config("dynamodb:config/production/name")


# ---- clients ----------------------------------------------------------------------------------------------------


def test_clients_come_from_a_factory_a_mapping_or_a_session(ssm: Any) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=SEED_JSON.read_text(), Type="String")
    location = f"ssm:{PARAMETER}"
    asked: list[str] = []

    def factory(service: str) -> Any:
        asked.append(service)
        return ssm

    assert load_raw_config(location, session_or_clients=factory) == json.loads(SEED_JSON.read_text())
    assert asked == ["ssm"]
    assert load_raw_config(location, session_or_clients={"ssm": ssm}) == json.loads(SEED_JSON.read_text())
    assert load_raw_config(location, session_or_clients=boto3.Session()) == json.loads(SEED_JSON.read_text())
    with pytest.raises(ConfigSourceError, match="no 'ssm' client given"):
        load_raw_config(location, session_or_clients={"dynamodb": object()})


def test_no_client_is_created_for_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(service: str) -> Any:
        raise AssertionError(f"created a {service} client")

    monkeypatch.setattr(config_source.boto3, "client", refuse)
    assert load_config(f"file:{SEED_JSON}").labourers


# ---- the cache --------------------------------------------------------------------------------------------------


def test_a_change_is_seen_after_the_ttl_and_not_before(ssm: Any) -> None:
    clock = FakeClock()
    location = f"ssm:{PARAMETER}"
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps(with_cap(1)), Type="String")
    assert cap_of(location, ttl=60, clock=clock) == 1

    ssm.put_parameter(Name=PARAMETER, Value=json.dumps(with_cap(5)), Type="String", Overwrite=True)
    clock.now += 59.9
    assert cap_of(location, ttl=60, clock=clock) == 1

    clock.now += 0.1
    assert cap_of(location, ttl=60, clock=clock) == 5


def test_the_cache_is_per_location_and_clear_cache_forgets(tmp_path: Path) -> None:
    clock = FakeClock()
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(with_cap(1)))
    second.write_text(json.dumps(with_cap(2)))
    assert cap_of(str(first), clock=clock) == 1
    assert cap_of(str(second), clock=clock) == 2

    first.write_text(json.dumps(with_cap(3)))
    assert cap_of(str(first), clock=clock) == 1
    clear_cache()
    assert cap_of(str(first), clock=clock) == 3


def test_tables_are_part_of_the_cache_key(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"task_config": {}}))
    mine = Tables(tasks="mine")
    assert load_config(str(path)).tables == Tables()
    assert load_config(str(path), tables=mine).tables == mine


def test_a_failed_read_is_not_cached_and_does_not_hide_behind_the_old_copy(config_table: Any) -> None:
    clock = FakeClock()
    location = "dynamodb:config/production/sosw_orchestrator_config"
    put_config_row(config_table, json.dumps(with_cap(1)))
    assert cap_of(location, clock=clock) == 1

    put_config_row(config_table, json.dumps(with_cap(-1)))
    clock.now += 61
    with pytest.raises(ConfigError):
        load_config(location, clock=clock)

    put_config_row(config_table, json.dumps(with_cap(4)))
    assert cap_of(location, clock=clock) == 4


def test_ttl_zero_reads_every_time(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(with_cap(1)))
    assert cap_of(str(path), ttl=0) == 1
    path.write_text(json.dumps(with_cap(2)))
    assert cap_of(str(path), ttl=0) == 2


# ---- S3 ---------------------------------------------------------------------------------------------------------


def s3_bucket(*, versioned: bool) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    if versioned:
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


def put_object(client: Any, raw: dict[str, Any]) -> None:
    client.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps(raw).encode())


@pytest.mark.parametrize("versioned", [True, False])
def test_s3_object(aws: None, versioned: bool) -> None:
    client = s3_bucket(versioned=versioned)
    put_object(client, with_cap(7))

    config, reference = load_for_run(S3_LOCATION)

    assert config.labourer("some_function").max_simultaneous_invocations == 7
    latest = client.head_object(Bucket=BUCKET, Key=KEY).get("VersionId")
    assert reference.version == (latest if versioned else None)
    assert isinstance(reference.version, str) if versioned else reference.version is None


def test_s3_missing_object_and_bucket(aws: None) -> None:
    with pytest.raises(ConfigSourceError, match="bucket 'foreman-config' not found"):
        load_raw_config(S3_LOCATION)
    s3_bucket(versioned=False)
    with pytest.raises(ConfigSourceError, match=f"no object '{KEY}' in bucket 'foreman-config'"):
        load_raw_config(S3_LOCATION)


def test_s3_object_with_invalid_json(aws: None) -> None:
    s3_bucket(versioned=False).put_object(Bucket=BUCKET, Key=KEY, Body=b"{nope")
    with pytest.raises(ConfigSourceError, match=f"^{re.escape(S3_LOCATION)}: invalid JSON at line 1 column 2"):
        load_raw_config(S3_LOCATION)


def test_a_run_reads_back_the_s3_version_its_load_config_read_after_the_object_changed(aws: None) -> None:
    # Given a run whose LoadConfig read version 1 of a versioned object, then the object was replaced
    client = s3_bucket(versioned=True)
    put_object(client, with_cap(2))
    _, reference = load_for_run(S3_LOCATION, ttl=0)
    put_object(client, with_cap(9))
    clear_cache()  # a cold container: nothing kept by fingerprint

    # Then a later step, reading by the reference in the state, gets version 1 back, not the new object
    pinned = load_pinned(ConfigReference.from_dict(json.loads(json.dumps(reference.to_dict()))))

    assert pinned.fingerprint() == reference.sha256
    assert pinned.labourer("some_function").max_simultaneous_invocations == 2
    assert load_config(S3_LOCATION, ttl=0).labourer("some_function").max_simultaneous_invocations == 9


def test_a_changed_unversioned_s3_object_stops_the_run(aws: None) -> None:
    client = s3_bucket(versioned=False)
    put_object(client, with_cap(2))
    _, reference = load_for_run(S3_LOCATION, ttl=0)
    assert reference.version is None
    put_object(client, with_cap(9))
    clear_cache()

    with pytest.raises(ConfigChangedError, match="changed after this run's LoadConfig read it"):
        load_pinned(reference)


def test_a_reference_keeps_the_version_s_type_through_json() -> None:
    for version in (3, "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", None):
        reference = ConfigReference("s3:b/k", "f" * 64, version=version, labourers=2)
        assert ConfigReference.from_dict(json.loads(json.dumps(reference.to_dict()))) == reference
    assert "version" not in ConfigReference("ssm:/p", "f" * 64).to_dict()


def test_s3_access_denied_says_the_object_may_be_missing_or_not_granted() -> None:
    from botocore.exceptions import ClientError

    class Denied:
        def get_object(self, **request: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")

    with pytest.raises(ConfigSourceError, match=r"access denied: no object .* or this role may not read it"):
        load_raw_config(S3_LOCATION, session_or_clients={"s3": Denied()})
