"""``$$.State.EnteredTime`` written, and Choice-rule timestamps read, as AWS does.

AWS writes ``State.EnteredTime`` as RFC 3339 in UTC with milliseconds and ``Z`` (``2019-03-26T20:14:13.192Z``); moto
5.2.5 writes Python's ``isoformat()`` (``+00:00``, microseconds), which its own Choice timestamp rules then cannot read,
so a comparison with it is always false. And moto's timestamp rules read only whole seconds, where an AWS timestamp
may carry a fraction. The Orchestrator's ClaimWindow compares the entered time with the run's claim deadline, so the
embedded stack writes and reads timestamps as AWS does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

INTERNALS = (
    ("moto.stepfunctions.parser.asl.component.state.state", "StateData"),
    (
        "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator",
        "IsTimestamp.string_to_timestamp",
    ),
)

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
