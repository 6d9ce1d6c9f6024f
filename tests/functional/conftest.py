"""Fixtures shared by the functional tests: sosw's tables on in-process moto, a controllable clock, a task store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from foreman_core.config import Tables
from foreman_core.task_store import TaskStore
from tests.builders import FakeClock, create_sosw_tables


@pytest.fixture
def client() -> Iterator[Any]:
    """A DynamoDB client on moto, with sosw's three tables created."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_sosw_tables(dynamodb)
        yield dynamodb


@pytest.fixture
def empty_config_cache() -> Iterator[None]:
    """``config_source``'s caches empty before and after the test (a config read by one test is not another's)."""
    from foreman_core.config_source import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand."""
    return FakeClock()


@pytest.fixture
def store(client: Any, clock: FakeClock) -> TaskStore:
    """The task store on ``client``'s tables, on ``clock``, never sleeping between write retries."""
    return TaskStore(client, Tables(), clock=clock, sleep=lambda _: None)
