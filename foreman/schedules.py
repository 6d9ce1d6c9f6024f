"""The template's schedules, run locally as EventBridge Scheduler would run them on AWS.

``template_schedules`` reads every ``ScheduleV2``/``Schedule`` event of the template's state machines (the
Orchestrator's and the Scavenger's) with its resolved ``ScheduleExpression`` and ``Input``. ``Scheduler`` starts one
execution of each state machine per period, with the event's input, on a background thread, whether or not the
previous execution has ended (as EventBridge Scheduler does: overlap is the state machine's business). Only
``rate(...)`` expressions have a period here; a ``cron(...)`` or ``at(...)`` schedule is listed with no period and not
run. The schedule's ``State`` is ignored locally: the template ships the schedules disabled so that a fresh AWS deploy
costs nothing, which does not apply on a laptop.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Schedule:
    """One schedule: which state machine it starts (logical id and ARN), its expression, its period and input."""

    state_machine: str
    arn: str
    expression: str
    seconds: float | None
    input: str = "{}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, as the startup line shows it."""
        return {"expression": self.expression, "every_seconds": self.seconds}


def rate_seconds(expression: str) -> float | None:
    """The period of a ``rate(N unit)`` expression in seconds; None for anything else (``cron(...)``, ``at(...)``)."""
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        return None
    return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")])


def template_schedules(deployment: Any) -> list[Schedule]:
    """Every schedule event of the deployment's state machines, resolved (parameters and intrinsics applied)."""
    schedules = []
    for logical_id, resource in deployment.template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::StateMachine" or logical_id not in deployment.physical:
            continue
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") not in ("ScheduleV2", "Schedule"):
                continue
            properties = deployment.resolve(event.get("Properties", {}))
            expression = str(properties.get("ScheduleExpression", ""))
            schedules.append(
                Schedule(
                    state_machine=logical_id,
                    arn=str(deployment.physical[logical_id]),
                    expression=expression,
                    seconds=rate_seconds(expression),
                    input=_input_text(properties.get("Input") or "{}"),
                )
            )
    return schedules


def every(schedules: list[Schedule], seconds: float) -> list[Schedule]:
    """The same schedules with one period for all (``foreman local serve --every SECONDS``)."""
    return [Schedule(s.state_machine, s.arn, f"every {seconds:g} s (--every)", seconds, s.input) for s in schedules]


@dataclass
class Scheduler:
    """Starts each schedule's state machine once per period until ``stop`` is set; the first start comes one period
    after ``start()``. ``start_execution(arn, input)`` is the Step Functions call; a failed start is reported on
    ``log`` and the schedule goes on."""

    schedules: list[Schedule]
    start_execution: Callable[[str, str], Any]
    stop: threading.Event
    log: TextIO = sys.stderr

    def start(self) -> threading.Thread:
        """Run the schedules on a daemon thread; returns it."""
        thread = threading.Thread(target=self._loop, name="schedules", daemon=True)
        thread.start()
        return thread

    def _loop(self) -> None:
        runnable = [s for s in self.schedules if s.seconds]
        now = time.monotonic()
        due = {index: now + float(s.seconds or 0) for index, s in enumerate(runnable)}
        while runnable and not self.stop.is_set():
            index = min(due, key=lambda i: due[i])
            if self.stop.wait(max(due[index] - time.monotonic(), 0)):
                return
            schedule = runnable[index]
            due[index] += float(schedule.seconds or 0)
            try:
                self.start_execution(schedule.arn, schedule.input)
            except Exception as error:  # the next tick tries again, as EventBridge Scheduler would
                self.log.write(f"schedule: could not start {schedule.state_machine}: {type(error).__name__}: {error}\n")
                self.log.flush()


def schedules_line(schedules: list[Schedule]) -> dict[str, Any]:
    """The schedules as the startup line's ``schedules`` object: state machine -> expression and period."""
    return {s.state_machine: s.to_dict() for s in schedules}


def _input_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
