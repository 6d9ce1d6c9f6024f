"""Target tracking's controller, pure: each rule of ``step`` and its bounds, and the loop on the demo's database model
(CPU = base + k x in flight, a one-period lag, noise) run in plain Python: convergence, a step change, fail safe."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from foreman_core.target_tracking import (
    MAX_GRADIENT,
    REASONS,
    ControllerState,
    Decision,
    Direction,
    Reading,
    TargetTracking,
    initial_state,
    step,
)

CPU = TargetTracking("ReportsDBCPU", 60.0)
NOW = 1_800_000_000.0
PERIOD = 60


def fresh(value: float, *, at: float = NOW - PERIOD) -> Reading:
    """A datapoint for the period that just ended (CloudWatch stamps the period's start)."""
    return Reading(value, at)


def step_once(
    value: float | None,
    *,
    allowed: float = 5.0,
    running: int = 5,
    cap: int = 10,
    config: TargetTracking = CPU,
    load: int = 0,
    seen: float | None = None,
) -> Decision:
    reading = fresh(value) if value is not None else Reading(None, None)
    state = ControllerState(allowed, seen, load)
    return step(config, state, reading=reading, running=running, cap=cap, now=NOW, period=PERIOD)


# --- the rules -------------------------------------------------------------------------------------------------------


def test_over_the_target_decreases_at_once_to_load_times_gradient() -> None:
    decision = step_once(80.0, allowed=8, running=8)
    assert decision.reason == "decrease"
    assert decision.state.allowed == pytest.approx(8 * 60 / 80)
    assert decision.allowed == 6


def test_over_the_target_allows_only_the_whole_tasks_that_fit_under_it() -> None:
    # issue 25, item 16: 6 x 60/62 = 5.8 was rounded half up back to 6, so the metric parked at 62 for ever
    decision = step_once(62.0, allowed=6, running=6)

    assert decision.reason == "decrease"
    assert decision.state.allowed == pytest.approx(6 * 60 / 62)
    assert decision.allowed == 5


def test_an_allowance_a_float_error_short_of_a_whole_task_still_allows_it() -> None:
    assert step_once(55.0, allowed=6 - 1e-12, running=6, seen=NOW - PERIOD).allowed == 6  # "seen": unchanged


def test_the_load_is_what_was_in_flight_when_measured_not_what_is_left_after_completions() -> None:
    # 8 were in flight during the period (the last step's load); 3 finished since: the reading describes 8, not 5
    decision = step_once(66.0, allowed=8, running=5, load=8)
    assert decision.state.allowed == pytest.approx(8 * 60 / 66)


def test_within_tolerance_holds() -> None:
    decision = step_once(59.0, allowed=5.4)
    assert (decision.reason, decision.state.allowed) == ("hold", 5.4)


def test_under_the_target_grows_by_at_least_one_and_at_most_max_step() -> None:
    assert step_once(55.0, allowed=5, running=5).state.allowed == 6  # gradient says 5.45: at least one more
    grown = step_once(20.0, allowed=2, running=2)  # gradient (capped at 2) says 4; max_step of cap 10 is 2
    assert (grown.reason, grown.state.allowed) == ("increase", 4)
    assert step_once(1.0, allowed=2, running=2).state.allowed == 4  # a reading near 0 does not open the gates


def test_an_idle_labourer_grows_no_further_than_max_step_above_its_load() -> None:
    decision = step_once(20.0, allowed=1, running=0, load=0)
    assert decision.state.allowed == 2


def test_growth_is_capped_and_a_cut_goes_to_the_floor() -> None:
    assert step_once(20.0, allowed=10, running=10).state.allowed == 10
    cut = step_once(90.0, allowed=8, running=8, config=TargetTracking("m", 60.0, floor=1))
    assert (cut.reason, cut.allowed) == ("cut", 1)


@pytest.mark.parametrize("reading", [Reading(None, None), Reading(None, None, "AccessDenied: no")])
def test_no_data_or_a_failed_read_cuts_to_the_floor(reading: Reading) -> None:
    state = ControllerState(9.0, NOW - 120, 9)
    decision = step(CPU, state, reading=reading, running=9, cap=10, now=NOW, period=PERIOD)
    assert decision.allowed == 0
    assert decision.reason == ("error" if reading.error else "no_data")


def test_a_datapoint_older_than_two_periods_is_stale() -> None:
    state = ControllerState(9.0, None, 9)
    old = Reading(50.0, NOW - 3 * PERIOD - 1)  # its period ended 2 periods + 1 s ago
    assert step(CPU, state, reading=old, running=9, cap=10, now=NOW, period=PERIOD).reason == "stale"
    recent = Reading(50.0, NOW - 3 * PERIOD + 1)
    assert step(CPU, state, reading=recent, running=9, cap=10, now=NOW, period=PERIOD).reason == "increase"


def test_the_same_datapoint_is_never_acted_on_twice() -> None:
    first = step(CPU, initial_state(CPU), reading=fresh(40.0), running=0, cap=10, now=NOW, period=PERIOD)
    again = step(CPU, first.state, reading=fresh(40.0), running=0, cap=10, now=NOW + 10, period=PERIOD)
    assert (first.reason, again.reason) == ("increase", "seen")
    assert again.state.allowed == first.state.allowed


def test_above_direction_mirrors_below() -> None:
    memory = TargetTracking("FreeMemory", 40.0, Direction.ABOVE)
    assert memory.gradient(80.0) == MAX_GRADIENT
    assert memory.gradient(20.0) == 0.5
    assert step_once(20.0, allowed=8, running=8, config=memory).state.allowed == 4
    assert step_once(60.0, allowed=4, running=4, config=memory).reason == "increase"


def test_the_allowance_stays_within_floor_and_cap() -> None:
    rng = random.Random(3)
    config = TargetTracking("m", 60.0, floor=2, max_step=3)
    state = initial_state(config)
    for minute in range(500):
        value = rng.choice([None, rng.uniform(0, 100)])
        reading = Reading(value, None if value is None else NOW + minute * 60 - 60)
        decision = step(
            config, state, reading=reading, running=rng.randint(0, 12), cap=7, now=NOW + minute * 60, period=60
        )
        assert 2 <= decision.allowed <= 7
        assert 2 <= decision.state.allowed <= 7
        assert decision.reason in REASONS
        state = decision.state


def test_a_floor_above_the_cap_is_the_cap() -> None:
    assert step_once(None, cap=3, config=TargetTracking("m", 60.0, floor=5)).allowed == 3


# --- the loop on the demo's database model ---------------------------------------------------------------------------


@dataclass
class Database:
    """CPU = base + k x (tasks in flight during the last period), read with noise one period late."""

    base: float = 20.0
    k: float = 7.0
    noise: float = 2.0
    rng: random.Random = field(default_factory=lambda: random.Random(11))

    def cpu(self, in_flight: int) -> float:
        return min(100.0, self.base + self.k * in_flight)


def run_loop(database: Database, minutes: int, *, change_k_at: int | None = None, task_minutes: int = 2) -> list[float]:
    """The true CPU of each period under the controller (tasks take ``task_minutes``); the queue never empties."""
    state = initial_state(CPU)
    in_flight: list[int] = []
    load = 0
    cpus = []
    for minute in range(1, minutes + 1):
        if minute == change_k_at:
            database.k *= 2
        in_flight = [done for done in in_flight if done > minute]
        measured = database.cpu(load) + database.rng.uniform(-database.noise, database.noise)
        reading = Reading(measured, NOW + (minute - 1) * 60)
        decision = step(CPU, state, reading=reading, running=len(in_flight), cap=10, now=NOW + minute * 60, period=60)
        state = decision.state
        in_flight += [minute + task_minutes] * max(decision.allowed - len(in_flight), 0)
        load = len(in_flight)
        cpus.append(database.cpu(load))
    return cpus


def test_converges_and_stays_within_five_points_of_the_target() -> None:
    cpus = run_loop(Database(), 40)
    assert all(abs(cpu - 60) <= 5 for cpu in cpus[10:]), cpus


def test_follows_a_step_change_in_capacity_within_five_runs() -> None:
    cpus = run_loop(Database(), 40, change_k_at=20)
    after = cpus[19:]  # k doubled for every period from run 20 on
    assert all(cpu <= 75 for cpu in after[1:]), after  # the first period after the step is what was already running
    assert all(abs(cpu - 60) <= 15 for cpu in after[5:]), after
