"""No real sleeps in Retry intervals and Wait states (tests and the accelerated demo).

``retrier_decl.time`` and ``WaitFunction._wait_interval``: skip real sleeps in Retry and Wait states, for tests and
the accelerated demo.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock


@contextmanager
def no_waits() -> Iterator[None]:
    """Skip the sleeps of Retry intervals and Wait states (the count of retries is unchanged)."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    def skip_wait(self: Any, env: Any, wait_seconds: int) -> None:
        return None

    with (
        mock.patch.object(retrier_decl, "time", types.SimpleNamespace(sleep=lambda seconds: None)),
        mock.patch.object(WaitFunction, "_wait_interval", skip_wait),
    ):
        yield


INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl", "time"),
    ("moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function", "WaitFunction._wait_interval"),
)
"""The moto internals this patch reads or replaces (their canary: tests/functional/test_moto_internals.py)."""
