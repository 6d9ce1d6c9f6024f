"""Target tracking on the embedded stack: the real Orchestrator of ``template.yaml``, in simulated minutes, on the
demo's database model (CPU = 20 + 7 x tasks in flight, noise +-2, read one period late; ``benchmarks.tracking``).

Shown here: after convergence the CPU stays within 5 points of the target; when the database's capacity halves (k
doubles) the controller follows within 5 runs without putting the CPU more than 15 points above the target; no data
or a stale datapoint drops the labourer to its floor in one run; the controller's state is one item in the
coordination table, stepped once per datapoint, never by a busy run; a config without target tracking behaves as
before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.tracking import CAP, LABOURER, Minute, Scenario, labourer_config, simulate
from foreman.local.deployer import ACCOUNT, REGION
from foreman.local.stack import EmbeddedStack
from foreman.status import status_report
from foreman_core import lease
from foreman_core.config import parse_config
from foreman_core.controller_store import ControllerStore, controller_key

TARGET = 60.0


@pytest.fixture
def tracked_stack() -> Iterator[EmbeddedStack]:
    arns = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{LABOURER}"
    with EmbeddedStack(parameters={"LabourerArns": arns, "LogLevel": "WARNING"}) as embedded:
        yield embedded


def cpus(run: list[Minute]) -> list[float]:
    return [minute.cpu for minute in run]


def controller_item(stack: EmbeddedStack) -> dict[str, Any]:
    table = str(stack.outputs["CoordinationTableName"])
    response = stack.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": controller_key(LABOURER)}})
    item: dict[str, Any] = response["Item"]
    return item


def test_after_convergence_the_cpu_stays_within_five_points_of_the_target(tracked_stack: EmbeddedStack) -> None:
    run = simulate(tracked_stack, "target", minutes=24)
    settled = cpus(run)[8:]
    assert all(abs(cpu - TARGET) <= 5 for cpu in settled), str(cpus(run))
    assert all(minute.running + minute.invoked <= CAP for minute in run)
    # the run's output carries the controller's step, and the coordination table its state
    last = run[-1].tracking
    assert last is not None
    assert (last["stored"], last["metric"], last["target"]) == (True, "DBCPU", TARGET)
    item = controller_item(tracked_stack)
    assert int(item["whole"]["N"]) == last["allowed"]
    assert float(item["datapoint"]["N"]) == last["datapoint"]


def test_a_step_change_in_capacity_is_followed_within_five_runs(tracked_stack: EmbeddedStack) -> None:
    # tasks of one or two minutes: a controller cannot stop tasks already running, only stop starting new ones
    run = simulate(tracked_stack, "target", minutes=26, scenario=Scenario(k_at={14: 14.0}), task_minutes=(1, 2))
    after = cpus(run)[13:]  # the minutes with k doubled, from the first run that reads it
    assert run[13].tracking is not None
    assert run[13].tracking["reason"] == "cut", str(cpus(run))  # 20 + 14 x 6 = 104: far past
    # its first minute still carries the tasks started before the change (a controller only stops new ones): 76
    assert all(cpu <= TARGET + 15 for cpu in after[1:]), str(cpus(run))
    assert all(abs(cpu - TARGET) <= 15 for cpu in after[5:]), str(cpus(run))
    assert max(cpus(run)[18:]) > 45, str(cpus(run))  # it recovered, rather than staying at the floor


def test_no_data_drops_to_the_floor_in_one_run(tracked_stack: EmbeddedStack) -> None:
    # a 60 s window: the minute the database publishes nothing, the query has no datapoint at all
    run = simulate(tracked_stack, "target", minutes=11, scenario=Scenario(silent={10}), task_minutes=(1, 1), window=60)
    assert run[8].tracking is not None
    assert run[8].tracking["allowed"] >= 4
    assert run[9].tracking is not None
    assert (run[9].tracking["reason"], run[9].tracking["allowed"], run[9].invoked) == ("no_data", 0, 0)
    assert run[10].tracking is not None
    assert 0 < run[10].tracking["allowed"] <= 2  # recovery is gradual


def test_a_stale_datapoint_drops_to_the_floor_in_one_run(tracked_stack: EmbeddedStack) -> None:
    # a 300 s window: once the database stops publishing, its last datapoint stays readable but grows old
    run = simulate(
        tracked_stack, "target", minutes=12, scenario=Scenario(silent={10, 11, 12}), task_minutes=(1, 1), window=300
    )
    reasons = [minute.tracking["reason"] if minute.tracking else None for minute in run[9:]]
    assert reasons == ["seen", "seen", "stale"]  # minute 9's datapoint: acted on once, then held, then stale
    assert run[10].tracking is not None
    assert run[10].tracking["allowed"] >= 4
    assert run[11].tracking is not None
    assert (run[11].tracking["allowed"], run[11].invoked) == (0, 0)


def test_a_busy_run_steps_no_controller(tracked_stack: EmbeddedStack) -> None:
    simulate(tracked_stack, "target", minutes=3)
    before = controller_item(tracked_stack)
    dynamodb = tracked_stack.client("dynamodb")
    taken = lease.take(
        dynamodb, "sosw_tasks", run="run-other", execution="someone-else", now=1_800_000_000 + 4 * 60, seconds=900
    )
    assert taken.held
    output = tracked_stack.run({"now": 1_800_000_000 - 1_800_000_000 % 60 + 4 * 60}).output
    line = output["labourers"][LABOURER]
    assert output["lease"]["held"] is False  # busy: another execution holds the lease
    assert (line.get("target_tracking"), line.get("desired", 0)) == (None, 0)
    assert controller_item(tracked_stack) == before


def test_feelings_alone_behave_as_before_and_store_no_controller(tracked_stack: EmbeddedStack) -> None:
    run = simulate(tracked_stack, "feelings", minutes=2)
    assert [minute.tracking for minute in run] == [None, None]
    assert run[0].desired == CAP  # no datapoint yet was published before minute 1's run? it was: 20 % CPU, High
    table = str(tracked_stack.outputs["CoordinationTableName"])
    response = tracked_stack.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": controller_key(LABOURER)}})
    assert "Item" not in response


def test_foreman_status_shows_the_controller_state(tracked_stack: EmbeddedStack) -> None:
    run = simulate(tracked_stack, "target", minutes=3)
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{LABOURER}"
    config = parse_config({"task_config": {"labourers": {LABOURER: labourer_config(arn, "target")}}})
    table = str(tracked_stack.outputs["CoordinationTableName"])
    dynamodb = tracked_stack.client("dynamodb")
    (line,) = status_report(
        config,
        dynamodb=dynamodb,
        cloudwatch=tracked_stack.client("cloudwatch"),
        now=1_800_000_000 + 4 * 60,
        controllers=ControllerStore(dynamodb, table),
    )
    last = run[-1].tracking
    assert last is not None
    assert line.controller is not None
    assert line.controller.allowed == last["allowed"]
    assert f"allowed {last['allowed']} " in line.controller_text
    assert f"last step: {last['reason']}" in line.controller_text
    assert line.to_dict()["target_tracking"]["reason"] == last["reason"]
