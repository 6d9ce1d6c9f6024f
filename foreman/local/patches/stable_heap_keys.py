"""Each interpreter component's heap key created once, even when Map iterations race to it.

``EvalComponent.heap_key``: a state's retry counter lives in the iteration's heap under a key that moto creates
lazily, without a lock; two Map iterations reaching a Retry at once could each create a key, and one of them then
lost its count and retried once more than ``MaxAttempts``. ``stable_heap_keys`` creates each key once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock


@contextmanager
def stable_heap_keys() -> Iterator[None]:
    """Create each interpreter component's heap key exactly once, even when Map iterations race to it."""
    import threading

    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    original = EvalComponent.__dict__["heap_key"]
    lock = threading.Lock()

    def heap_key(self: Any) -> str:
        if self.__dict__.get("_EvalComponent__heap_key") is None:
            with lock:
                key: str = original.fget(self)  # creates it, once: the others wait and then find it
                return key
        existing: str = original.fget(self)
        return existing

    with mock.patch.object(EvalComponent, "heap_key", property(heap_key)):
        yield


INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.parser.asl.component.eval_component", "EvalComponent.heap_key"),
)
"""The moto internals this patch reads or replaces (their canary: tests/functional/test_moto_internals.py)."""
