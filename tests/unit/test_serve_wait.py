"""``foreman local serve``'s wait: a signal another thread received is still handled (the cause of the serve that
ignored SIGTERM for 20 s in the tests: its main thread waited with no timeout while the kernel delivered SIGTERM to
one of its server threads, and Python runs handlers only in the main thread)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import pytest

from foreman.serve import SIGNAL_POLL_SECONDS, _wait_for


@pytest.fixture
def stop_on_sigusr2() -> Iterator[threading.Event]:
    stop = threading.Event()
    previous = signal.signal(signal.SIGUSR2, lambda signum, frame: stop.set())
    yield stop
    signal.signal(signal.SIGUSR2, previous)


def test_a_signal_delivered_to_another_thread_ends_the_wait(stop_on_sigusr2: threading.Event) -> None:
    # Given a thread that receives the signal itself (as the kernel may pick any thread of the process)
    def receive() -> None:
        time.sleep(0.2)
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR2)

    threading.Thread(target=receive, daemon=True).start()
    began = time.monotonic()

    _wait_for(stop_on_sigusr2, 10)  # the main thread waits: the handler runs when it wakes

    assert stop_on_sigusr2.is_set()
    assert time.monotonic() - began < 10 * SIGNAL_POLL_SECONDS


def test_the_wait_ends_when_its_time_is_up() -> None:
    stop = threading.Event()
    began = time.monotonic()

    _wait_for(stop, 0.3)

    assert 0.3 <= time.monotonic() - began < 0.3 + 2 * SIGNAL_POLL_SECONDS
    assert not stop.is_set()
