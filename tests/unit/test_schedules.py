"""The template's schedules as ``foreman local serve`` runs them: periods from rate expressions, one start per tick."""

from __future__ import annotations

import threading
import time

import pytest

from foreman.local.deployer import Deployment
from foreman.local.stack import LOCAL_PARAMETERS, TEMPLATE
from foreman.schedules import Schedule, Scheduler, every, rate_seconds, template_schedules


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60.0), ("rate(5 minutes)", 300.0), ("rate(2 hours)", 7200.0), ("rate(1 day)", 86400.0)],
)
def test_a_rate_expression_gives_its_period(expression: str, seconds: float) -> None:
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize("expression", ["cron(0 12 * * ? *)", "at(2026-01-01T00:00:00)", "rate(1 fortnight)", ""])
def test_other_expressions_have_no_period(expression: str) -> None:
    assert rate_seconds(expression) is None


def test_the_templates_schedules_are_the_orchestrators_and_the_scavengers_at_their_parameters_rates() -> None:
    parameters = {**LOCAL_PARAMETERS, "ScavengerScheduleExpression": "rate(5 minutes)"}
    deployment = Deployment(TEMPLATE, clients=lambda service: None, parameters=parameters)
    deployment.physical.update({"Orchestrator": "arn:orchestrator", "Scavenger": "arn:scavenger"})

    schedules = {s.state_machine: s for s in template_schedules(deployment)}

    assert set(schedules) == {"Orchestrator", "Scavenger"}
    assert (schedules["Orchestrator"].expression, schedules["Orchestrator"].seconds) == ("rate(1 minute)", 60.0)
    assert (schedules["Scavenger"].expression, schedules["Scavenger"].seconds) == ("rate(5 minutes)", 300.0)
    assert schedules["Orchestrator"].arn == "arn:orchestrator"
    assert schedules["Orchestrator"].input == "{}"
    assert [s.seconds for s in every(list(schedules.values()), 2)] == [2, 2]


def test_the_scheduler_starts_each_state_machine_once_per_period_and_survives_a_failed_start() -> None:
    starts: list[str] = []
    stop = threading.Event()

    def start_execution(arn: str, text: str) -> None:
        starts.append(arn)
        if len(starts) == 1:
            raise RuntimeError("throttled")

    schedules = [
        Schedule("A", "arn:a", "fast", 0.05),
        Schedule("B", "arn:b", "slow", 0.2),
        Schedule("C", "c", "cron", None),
    ]
    thread = Scheduler(schedules, start_execution, stop).start()
    time.sleep(0.5)
    stop.set()
    thread.join(timeout=5)

    assert not thread.is_alive()
    assert starts[0] == "arn:a"  # the shortest period comes first, one period after the start
    assert starts.count("arn:a") >= 2  # the failed first start did not stop the schedule
    assert starts.count("arn:a") > starts.count("arn:b") >= 1
    assert "c" not in starts  # a cron schedule is listed, not run
