"""Target tracking: hold a labourer's dependency at a target (``ReportsDBCPU`` near 60) instead of stepping between
feelings' thresholds. Pure logic, no AWS; ``controller_store`` keeps the state between runs.

Each run, ``step`` turns the previous allowance, the running count and the newest datapoint into the number of tasks
the labourer may have running now (``allowed``, bounded by ``[floor, max_simultaneous_invocations]``); ComputeEcology
then asks for ``desired = allowed - running``. The controller is a **gradient** controller with a bounded increase
(the family of AWS target-tracking scaling and Netflix's adaptive concurrency limits):

- the load the datapoint describes is what was in flight while it was measured: ``load``, the count the previous step
  asked for (``running + desired``), or the ``running`` count if that is higher;
- the *gradient* is how far the reading is from the target, as a ratio: ``target / reading`` when the metric must
  stay ``below`` the target (CPU), ``reading / target`` when it must stay ``above`` (free memory), clamped to
  ``[0, MAX_GRADIENT]``. At the target it is 1; ``load * gradient`` is the load that would put the reading at the
  target if the metric were proportional to the load;
- over the target: ``allowed = min(previous, load * gradient)`` at once (a multiplicative decrease);
- within ``tolerance`` below it: hold;
- under it: grow toward ``load * gradient``, at least one task and at most ``max_step`` tasks per datapoint, and
  never more than ``max_step`` above the load (an idle labourer does not build up an allowance it has never
  tried);
- fail safe: no datapoint, a failed fetch, a datapoint older than ``2 x period`` (from the end of its period), or a
  reading more than ``cut_margin`` past the target cuts to ``floor`` at once; recovery from there is the gradual
  growth above.

A datapoint is acted on once: ``step`` holds when the newest datapoint is not newer than the one the state last
reacted to (a metric describes the last period, so two runs in one period would otherwise react twice to it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

MAX_GRADIENT = 2.0
"""The most one datapoint can multiply the load by: a reading near zero must not open the gates at once."""

WHOLE_EPSILON = 1e-9
"""The allowance's whole tasks are those that fit under it, rounded down (6 x 60/62 = 5.8 allows 5, not 6, or the
metric would park a task's worth past the target); this much float error (6 x 60/60 = 5.9999999) still counts whole."""

DEFAULT_TOLERANCE = 2.0
"""Points below the target where the allowance holds rather than grows (a dead band against noise)."""

DEFAULT_CUT_MARGIN = 25.0
"""Points past the target where the controller stops adjusting and cuts to the floor (an emergency)."""

DEFAULT_STEP_SHARE = 0.2
"""``max_step`` defaults to this share of the cap, at least 1: a cap of 10 grows by at most 2 tasks a datapoint."""

STALE_PERIODS = 2
"""A datapoint older than this many periods is stale: the dependency may have changed since, unseen."""


class Direction(str, Enum):
    """Which side of the target is healthy: ``below`` (CPU, latency) or ``above`` (free memory, credits)."""

    BELOW = "below"
    ABOVE = "above"


@dataclass(frozen=True)
class TargetTracking:
    """A labourer's ``target_tracking`` config: hold ``metric`` (one of its ``health_metrics``) at ``target``.

    ``floor``: the allowance on no data, a stale datapoint or a reading past ``cut_margin`` (0: stop). ``max_step``:
    the most tasks the allowance grows by per datapoint (``None``: ``DEFAULT_STEP_SHARE`` of the cap, at least 1).
    """

    metric: str
    target: float
    direction: Direction = Direction.BELOW
    floor: int = 0
    max_step: int | None = None
    tolerance: float = DEFAULT_TOLERANCE
    cut_margin: float = DEFAULT_CUT_MARGIN

    def step_for(self, cap: int) -> int:
        """The most tasks the allowance grows by per datapoint for a labourer capped at ``cap``."""
        if self.max_step is not None:
            return self.max_step
        return max(1, math.ceil(cap * DEFAULT_STEP_SHARE))

    def headroom(self, reading: float) -> float:
        """Points between ``reading`` and the target on the healthy side (negative: past the target)."""
        return self.target - reading if self.direction is Direction.BELOW else reading - self.target

    def gradient(self, reading: float) -> float:
        """The ratio that would bring a load proportional to the metric to the target, within ``[0, MAX_GRADIENT]``."""
        numerator, denominator = (self.target, reading) if self.direction is Direction.BELOW else (reading, self.target)
        if denominator <= 0:
            return MAX_GRADIENT
        return min(max(numerator / denominator, 0.0), MAX_GRADIENT)

    def to_dict(self) -> dict[str, Any]:
        """The config form that ``foreman_core.config`` parses back to an equal object."""
        result: dict[str, Any] = {
            "metric": self.metric,
            "target": self.target,
            "direction": self.direction.value,
            "floor": self.floor,
            "tolerance": self.tolerance,
            "cut_margin": self.cut_margin,
        }
        if self.max_step is not None:
            result["max_step"] = self.max_step
        return result


@dataclass(frozen=True)
class ControllerState:
    """What the controller keeps between runs: the allowance (a float, so small steps add up), the timestamp (epoch
    seconds) of the datapoint it last reacted to (``None``: none yet), and ``load``: the tasks in flight once its last
    step's allowance was filled (``max(running, allowed)``), which is what the next datapoint measures."""

    allowed: float
    datapoint: float | None = None
    load: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"allowed": self.allowed, "datapoint": self.datapoint, "load": self.load}


@dataclass(frozen=True)
class Reading:
    """The newest datapoint of the tracked metric: its value and timestamp (epoch seconds); ``value`` is ``None``
    when there was none, and ``error`` says why the fetch failed, if it did."""

    value: float | None
    timestamp: float | None
    error: str | None = None


@dataclass(frozen=True)
class Decision:
    """One run's step: the new state, the whole tasks it allows now, and why (``reason``, one of ``REASONS``)."""

    state: ControllerState
    allowed: int
    reason: str
    previous: float
    reading: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, as reported in the run's output."""
        return {
            "allowed": self.allowed,
            "allowance": round(self.state.allowed, 3),
            "previous": round(self.previous, 3),
            "reason": self.reason,
            "reading": self.reading,
            "datapoint": self.state.datapoint,
        }


REASONS = {
    "no_data": "no datapoint in the window: cut to the floor",
    "error": "the metric could not be read: cut to the floor",
    "stale": "the newest datapoint is older than 2 x its period: cut to the floor",
    "cut": "the reading is far past the target (more than cut_margin): cut to the floor",
    "decrease": "past the target: down to running x gradient",
    "hold": "within tolerance of the target",
    "increase": "under the target: up toward running x gradient, by at most max_step",
    "seen": "no new datapoint since the last step: unchanged",
    "superseded": "another run stored a step for this run's start or a later one first: its allowance is used",
}
"""Every ``Decision.reason`` and what it means (the docs and ``foreman status`` show these)."""


def initial_state(config: TargetTracking) -> ControllerState:
    """The state of a labourer the controller has never stepped: at its floor, so it starts gently."""
    return ControllerState(allowed=float(config.floor))


def step(
    config: TargetTracking,
    state: ControllerState,
    *,
    reading: Reading,
    running: int,
    cap: int,
    now: float,
    period: int,
) -> Decision:
    """The allowance for this run from the previous ``state`` and the newest ``reading`` (see the module's doc).

    ``running``: the labourer's tasks in flight now; ``cap``: its ``max_simultaneous_invocations``; ``now``: the
    run's clock (epoch seconds); ``period``: the metric's period in seconds. A datapoint is stale when the period it
    describes ended more than ``STALE_PERIODS * period`` before ``now`` (CloudWatch stamps a datapoint with the start
    of its period, and publishes it a little after the period ends). The result is always within
    ``[min(floor, cap), cap]``.
    """
    floor = min(config.floor, cap)
    previous = min(max(state.allowed, float(floor)), float(cap))

    def decide(allowed: float, reason: str, datapoint: float | None = state.datapoint) -> Decision:
        allowed = min(max(allowed, float(floor)), float(cap))
        whole = min(max(math.floor(allowed + WHOLE_EPSILON), floor), cap)  # the whole tasks that fit
        state_now = ControllerState(allowed, datapoint, max(running, whole))
        return Decision(state_now, whole, reason, previous, reading.value)

    if reading.error is not None:
        return decide(floor, "error")
    if reading.value is None or reading.timestamp is None:
        return decide(floor, "no_data")
    if now - (reading.timestamp + period) > STALE_PERIODS * period:
        return decide(floor, "stale")
    if state.datapoint is not None and reading.timestamp <= state.datapoint:
        return decide(previous, "seen")
    headroom = config.headroom(reading.value)
    if -headroom > config.cut_margin:
        return decide(floor, "cut", reading.timestamp)
    load = max(running, state.load)
    proportional = load * config.gradient(reading.value)
    if headroom < 0:
        return decide(min(previous, proportional), "decrease", reading.timestamp)
    if headroom <= config.tolerance:
        return decide(previous, "hold", reading.timestamp)
    grow = config.step_for(cap)
    grown = min(max(proportional, previous + 1), previous + grow, load + grow)
    return decide(max(grown, previous), "increase", reading.timestamp)
