"""The context object as AWS fills it, and timestamps as AWS compares them.

- ``Execution.RedriveCount``: AWS documents it as 0 for an execution never redriven; moto 5.2.5 leaves it out, and a
  path to it then fails the execution (``States.Runtime``). The Orchestrator's Claim reads it (a redriven run claims
  nothing), so the embedded stack puts it in every execution's context object, 0 unless something that emulates a
  redrive set it first (``redrive_count``).
- ``State.EnteredTime``: AWS writes it as RFC 3339 in UTC with milliseconds and ``Z`` (``2019-03-26T20:14:13.192Z``);
  moto writes Python's ``isoformat()`` (``+00:00``, microseconds), which its own Choice timestamp rules then cannot
  read, so a comparison with it is always false. And moto's timestamp rules read only whole seconds, where an AWS
  timestamp may carry a fraction. The Orchestrator's ClaimWindow compares the entered time with the run's claim
  deadline, so the embedded stack writes and reads timestamps as AWS does (``aws_timestamps``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

PATCHED = (
    ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker._get_evaluation_environment"),
    ("moto.stepfunctions.parser.asl.component.state.state", "StateData"),
    (
        "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator",
        "IsTimestamp.string_to_timestamp",
    ),
)
"""The moto internals these patches wrap (their canary checks that they still exist)."""

_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z$")


def aws_entered_time(text: str) -> str:
    """A moto ``EnteredTime`` (``isoformat()`` of an aware UTC datetime) as AWS writes it: milliseconds and ``Z``."""
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime | None:
    """An AWS Choice-rule timestamp (RFC 3339, uppercase ``T``, ``Z``, an optional fraction of a second), naive UTC as
    moto compares them; ``None`` when it is not one (the rule is then false, as on AWS)."""
    match = _TIMESTAMP.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    whole = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    fraction = match.group(2)
    return whole.replace(microsecond=int(fraction[1:7].ljust(6, "0"))) if fraction else whole


@contextmanager
def redrive_count() -> Iterator[None]:
    """Every execution's context object has ``Execution.RedriveCount`` (0 unless already set)."""
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = ExecutionWorker._get_evaluation_environment

    def environment(self: Any) -> Any:
        env = original(self)
        execution: Any = env.states.context_object.context_object_data["Execution"]  # AWS's keys, not moto's TypedDict
        execution.setdefault("RedriveCount", 0)
        return env

    with mock.patch.object(ExecutionWorker, "_get_evaluation_environment", environment):
        yield


@contextmanager
def aws_timestamps() -> Iterator[None]:
    """``$$.State.EnteredTime`` written, and Choice-rule timestamps read, as AWS does (see the module's docstring)."""
    from moto.stepfunctions.parser.asl.component.state import state
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations import (
        is_operator,
    )

    original = state.StateData

    def state_data(**fields: Any) -> Any:
        entered = fields.get("EnteredTime")
        if isinstance(entered, str) and not entered.endswith("Z"):
            fields["EnteredTime"] = aws_entered_time(entered)
        return original(**fields)

    with (
        mock.patch.object(state, "StateData", state_data),
        mock.patch.object(is_operator.IsTimestamp, "string_to_timestamp", staticmethod(parse_timestamp)),
    ):
        yield
