"""Target tracking's state in the coordination table, on moto: one read for every controller, conditional writes
that let no run apply a step twice or overwrite a newer one (``foreman_core.controller_store``)."""

from __future__ import annotations

from typing import Any

import pytest

from foreman_core.config import Comparison, HealthMetric, Labourer, MetricQuery
from foreman_core.controller_store import ControllerStore, controller_key, track
from foreman_core.metrics import FetchedValue
from foreman_core.target_tracking import ControllerState, Decision, TargetTracking

TABLE = "foreman-coordination"
CONFIG = TargetTracking("DBCPU", 60.0)
NOW = 1_800_000_000


@pytest.fixture
def controllers(client: Any) -> ControllerStore:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return ControllerStore(client, TABLE)


def decision(allowed: float, datapoint: float) -> Decision:
    return Decision(ControllerState(allowed, datapoint, round(allowed)), round(allowed), "increase", 0.0, 50.0)


def labourer(labourer_id: str = "reports") -> Labourer:
    metric = HealthMetric("DBCPU", MetricQuery("AWS/RDS", "CPUUtilization"), (), Comparison.LE)
    return Labourer(labourer_id, labourer_id, 10, (metric,), target_tracking=CONFIG)


def test_a_stored_step_is_read_back_for_every_labourer_in_one_call(controllers: ControllerStore, client: Any) -> None:
    for number, labourer_id in enumerate(("a", "b", "c")):
        assert (
            controllers.save(labourer_id, decision(number + 1.5, NOW), config=CONFIG, run_start=NOW, execution="x")
            is None
        )
    calls = []
    client.meta.events.register("before-call.dynamodb.BatchGetItem", lambda **kwargs: calls.append(1))
    loaded = controllers.load(["a", "b", "c", "never-stepped"])
    assert calls == [1]
    assert sorted(loaded) == ["a", "b", "c"]
    assert loaded["b"].state == ControllerState(2.5, float(NOW), 2)
    assert (loaded["b"].run_start, loaded["b"].execution, loaded["b"].target) == (NOW, "x", 60.0)


def test_the_same_run_or_an_older_one_cannot_overwrite_a_step(controllers: ControllerStore) -> None:
    assert controllers.save("a", decision(5, NOW), config=CONFIG, run_start=NOW, execution="first") is None
    retried = controllers.save("a", decision(7, NOW), config=CONFIG, run_start=NOW, execution="retry")
    assert retried is not None
    assert (retried.state.allowed, retried.execution) == (5.0, "first")
    older = controllers.save("a", decision(9, NOW), config=CONFIG, run_start=NOW - 60, execution="late")
    assert older is not None
    assert older.state.allowed == 5.0
    assert controllers.save("a", decision(6, NOW + 60), config=CONFIG, run_start=NOW + 60, execution="next") is None
    assert controllers.load(["a"])["a"].state.allowed == 6.0


def test_track_steps_stores_and_reports_and_a_retry_uses_the_stored_step(controllers: ControllerStore) -> None:
    fetched = FetchedValue(40.0, None, latest=40.0, timestamp=NOW - 90)
    report = track(
        labourer(), fetched, stored=None, store=controllers, running=0, now=NOW, run_start=NOW, execution="e1"
    )
    assert (report["reason"], report["allowed"], report["stored"]) == ("increase", 1, True)
    # the same run again (a retried ComputeEcology): the step is not applied twice
    again = track(
        labourer(), fetched, stored=None, store=controllers, running=0, now=NOW, run_start=NOW, execution="e2"
    )
    assert (again["reason"], again["allowed"], again["stored"], again["superseded_by"]) == (
        "superseded",
        1,
        False,
        "e1",
    )
    item = controllers.client.get_item(TableName=TABLE, Key={"pk": {"S": controller_key("reports")}})["Item"]
    assert item["execution"]["S"] == "e1"
