"""``$$.Execution.RedriveCount`` in every execution's context object, as AWS fills it.

AWS documents ``$$.Execution.RedriveCount`` as 0 for an execution never redriven; moto 5.2.5 leaves it out, and a path
to it then fails the execution (``States.Runtime``). The Orchestrator's Claim reads it (a redriven run claims nothing),
so the embedded stack puts it in every execution's context object, 0 unless something that emulates a redrive set it
first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

INTERNALS = (("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker._get_evaluation_environment"),)


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
