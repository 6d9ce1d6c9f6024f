"""Greenfield encoding: sosw's markers, classification and queue positions."""

from __future__ import annotations

import pytest

from foreman_core.greenfield import RunMarkers, TaskState, classify, queue_positions, retry_positions

START = 1_700_000_000


def test_markers_are_soswss_with_its_default_window() -> None:
    markers = RunMarkers.at(START + 0.9, duration=900, cooldown=300)
    assert markers == RunMarkers(start=START, invoked=START + 31557600, expired=START + 31557600 - 1200)


def test_markers_follow_a_labourers_own_duration_and_cooldown() -> None:
    markers = RunMarkers.at(START, duration=60, cooldown=0, delta=1000)
    assert (markers.invoked, markers.expired) == (START + 1000, START + 940)


@pytest.mark.parametrize(
    ("greenfield", "completed", "state"),
    [
        (2000, False, TaskState.QUEUED),
        (-5, False, TaskState.QUEUED),  # a retry placed ahead of the head of the queue
        (START - 1, False, TaskState.QUEUED),  # invoked more than a year ago reads as queued, as in sosw
        (START, False, TaskState.EXPIRED),
        (START + 31557600 - 1201, False, TaskState.EXPIRED),
        (START + 31557600 - 1200, False, TaskState.RUNNING),  # exactly on `expired`: still running
        (START + 31557600, False, TaskState.RUNNING),
        (START + 31557600 + 5, False, TaskState.RUNNING),  # claimed by a slightly later overlapping run
        (START + 31557600, True, TaskState.COMPLETED),
        (2000, True, TaskState.COMPLETED),
    ],
)
def test_classify(greenfield: int, completed: bool, state: TaskState) -> None:
    markers = RunMarkers.at(START, duration=900, cooldown=300)
    assert classify(greenfield, completed=completed, markers=markers) is state


def test_queue_positions_start_at_2000_on_an_empty_queue_and_step_by_1000() -> None:
    assert queue_positions(None, 3) == [2000, 3000, 4000]
    assert queue_positions(7000, 2) == [8000, 9000]
    assert queue_positions(10, 2, step=5) == [15, 20]


def test_retry_positions_keep_the_batch_order_just_ahead_of_the_head() -> None:
    assert retry_positions(2000, 3) == [1997, 1998, 1999]
    assert retry_positions(None, 2) == [998, 999]
    assert retry_positions(2000, 0) == []
