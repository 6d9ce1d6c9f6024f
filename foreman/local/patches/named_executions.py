"""Unnamed and misnamed executions, as AWS treats them.

``StepFunctionsParserBackend.start_execution``: moto names every unnamed execution ``None``, so a second unnamed
StartExecution fails with ``ExecutionAlreadyExists``; give it a UUID, as AWS does. It also accepts any name, where
AWS refuses names with spaces and other characters (``InvalidName``); refuse them as AWS does
(``foreman.execution_names``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock


@contextmanager
def named_executions() -> Iterator[None]:
    """Give unnamed executions a UUID name and refuse a name AWS refuses (``InvalidName``), as AWS does."""
    from moto.stepfunctions.exceptions import InvalidName
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    from foreman.execution_names import execution_name_problem

    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        problem = execution_name_problem(name) if name is not None else None
        if problem is not None:
            raise InvalidName(f"Invalid Name: '{name}' ({problem})")
        return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    with mock.patch.object(StepFunctionsParserBackend, "start_execution", start_execution):
        yield


INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.start_execution"),
    ("moto.stepfunctions.exceptions", "InvalidName"),
)
"""The moto internals this patch reads or replaces (their canary: tests/functional/test_moto_internals.py)."""
