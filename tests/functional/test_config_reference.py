"""The config reference a run's state carries (``config_source.ConfigReference``) and ``load_pinned``: every step
after LoadConfig gets exactly the config LoadConfig read, from its fingerprint, on moto's SSM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from foreman_core.config_source import (
    ConfigChangedError,
    ConfigReference,
    ConfigSourceError,
    clear_cache,
    load_for_run,
    load_pinned,
)
from tests.fixtures.seed_config import SEED_CONFIG

pytestmark = pytest.mark.usefixtures("empty_config_cache")

PARAMETER = "/foreman/orchestrator_config"


def with_cap(cap: int) -> dict[str, Any]:
    raw = json.loads(json.dumps(SEED_CONFIG))
    raw["task_config"]["labourers"]["some_function"]["max_simultaneous_invocations"] = cap
    return raw


def cap_of(config: Any) -> int:
    return int(config.labourer("some_function").max_simultaneous_invocations)


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("ssm", region_name="eu-west-1")
        client.put_parameter(Name=PARAMETER, Value=json.dumps(with_cap(5)), Type="String")
        yield client


class CountingClients:
    """A client factory that counts the calls of the SSM client it hands out."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.reads = 0

    def __call__(self, service: str) -> Any:
        assert service == "ssm"
        self.reads += 1
        return self.client


def test_the_reference_names_the_location_the_fingerprint_and_the_version(ssm: Any) -> None:
    config, reference = load_for_run(f"ssm:{PARAMETER}", clients={"ssm": ssm})

    assert reference == ConfigReference(f"ssm:{PARAMETER}", config.fingerprint(), "STANDARD", 1, labourers=1)
    assert ConfigReference.from_dict(json.loads(json.dumps(reference.to_dict()))) == reference
    assert len(json.dumps(reference.to_dict())) < 200  # whatever the config holds


def test_a_warm_step_reads_nothing_and_gets_the_same_config(ssm: Any) -> None:
    config, reference = load_for_run(f"ssm:{PARAMETER}", clients={"ssm": ssm})
    clients = CountingClients(ssm)

    pinned = load_pinned(reference, clients=clients)

    assert pinned == config
    assert clients.reads == 0


def test_a_cold_step_reads_the_version_loadconfig_read_after_the_parameter_changed(ssm: Any) -> None:
    _, reference = load_for_run(f"ssm:{PARAMETER}", clients={"ssm": ssm})
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps(with_cap(9)), Type="String", Overwrite=True)
    clear_cache()  # another function's process: it never saw version 1

    pinned = load_pinned(reference, clients={"ssm": ssm})

    assert cap_of(pinned) == 5  # version 1, what LoadConfig read, not the 9 stored since
    assert pinned.fingerprint() == reference.sha256


def test_a_file_edited_during_the_run_stops_it_with_both_fingerprints(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(with_cap(5)))
    _, reference = load_for_run(f"file:{path}")
    path.write_text(json.dumps(with_cap(9)))
    clear_cache()

    with pytest.raises(ConfigChangedError) as changed:
        load_pinned(reference)

    assert str(changed.value).startswith(f"file:{path}: the config changed after this run's LoadConfig read it")
    assert reference.sha256[:12] in str(changed.value)
    assert isinstance(changed.value, ConfigSourceError)


def test_a_reformatted_config_keeps_its_fingerprint(tmp_path: Path) -> None:
    # the fingerprint is the canonical form's: indentation and key order do not change it
    path = tmp_path / "config.json"
    path.write_text(json.dumps(with_cap(5)))
    _, reference = load_for_run(f"file:{path}")
    path.write_text(json.dumps(with_cap(5), indent=4, sort_keys=True))
    clear_cache()

    assert cap_of(load_pinned(reference)) == 5


def test_a_whole_config_in_place_of_a_reference_is_refused_clearly() -> None:
    with pytest.raises(ConfigSourceError, match="not a config reference"):
        ConfigReference.from_dict(SEED_CONFIG)
