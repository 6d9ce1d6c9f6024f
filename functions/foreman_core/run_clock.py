"""The run's clock, identity and claim deadline: what LoadConfig fixes once for the whole run.

- **Clock.** A run's ``start`` (what a task must be queued below to be taken, and what a claim's greenfield marker is
  counted from) is the service's clock, the time LoadConfig runs. The execution input may set it (``now``) only where
  the function's environment allows it (``CLOCK_FROM_INPUT``): the embedded stack does, for its accelerated demo clock
  and replays; a deployed stack does not, and a run started with ``now`` in its input fails at LoadConfig, naming it.
  A caller-set clock would mark claims and count running tasks on a clock other than the lease's: a skewed ``now``
  puts more in flight than the cap and re-delivers running tasks.
- **Identity.** Each run makes a new id (``new_run_id``): the lease's owner and every claim's mark. An execution that
  runs twice under one name (Express is at-least-once) or is redriven keeps its execution id but never its run id, so
  neither copy can pass for the other.
- **Claim deadline.** A run claims only before ``claim_deadline`` (``CLAIM_WINDOW_SECONDS`` after LoadConfig, on the
  service's clock, whatever ``now`` the input set): tasks not claimed by then stay queued for the next run (reported
  ``late``). Every claim, invoke and release therefore ends well within the lease and the Orchestrator's
  ``TimeoutSeconds`` even when AWS sleeps through every retry, and the latest an event can be sent is bounded
  (``LATEST_SEND_SECONDS`` after the run's start), which is what a labourer's ``MaximumEventAgeInSeconds`` is sized
  from.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

CLOCK_FROM_INPUT = "FOREMAN_CLOCK_FROM_INPUT"
"""Environment variable: ``"true"`` lets the execution input's ``now`` set the run's clock (the embedded stack only)."""

CLAIM_WINDOW = "CLAIM_WINDOW_SECONDS"
"""Environment variable: how long after LoadConfig a run may start claims (default ``CLAIM_WINDOW_SECONDS``)."""

CLAIM_WINDOW_SECONDS = 120
"""The default claim window. A claim started before the deadline takes at most about 15 s with every retry, its
invoke 7 s and its release or sent mark 15 s more, so the last write of a run lands at most ``LATEST_SEND_SECONDS``
after its start, far below the Orchestrator's ``TimeoutSeconds`` (300) and the lease (360)."""

SEND_MARGIN_SECONDS = 60
"""Past the claim deadline, the most a claim that started before it needs to send its event (retries included)."""

LATEST_SEND_SECONDS = CLAIM_WINDOW_SECONDS + SEND_MARGIN_SECONDS
"""The latest, after its run's start, an event is sent to a labourer with the default window (180 s). A task's
expiry is counted from its run's start, so a labourer's ``MaximumEventAgeInSeconds`` must be at most
``duration + cooldown - Timeout - LATEST_SEND_SECONDS`` for a late event never to start after its task expired."""


class RunInputError(ValueError):
    """The execution input asks for something a deployed run does not take; the message names the field."""


def run_start(execution_input: Mapping[str, Any], *, real_now: float, environment: Mapping[str, str]) -> float:
    """The run's clock: ``real_now``, or the input's ``now`` where ``environment`` allows it (``CLOCK_FROM_INPUT``).
    Raises ``RunInputError`` for a ``now`` that is not allowed or not a finite number of unix seconds."""
    if "now" not in execution_input:
        return real_now
    if environment.get(CLOCK_FROM_INPUT, "").lower() != "true":
        raise RunInputError(
            "input.now: a deployed Orchestrator runs on the service's clock; only the embedded stack (foreman local) "
            "takes a run's time from its input. Start the run without 'now'."
        )
    value = execution_input["now"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RunInputError(f"input.now: must be unix seconds (a finite number), not {value!r}")
    return float(value)


def claim_window(environment: Mapping[str, str]) -> int:
    """The claim window in seconds from ``environment`` (``CLAIM_WINDOW``), default ``CLAIM_WINDOW_SECONDS``."""
    text = environment.get(CLAIM_WINDOW, "")
    if not text:
        return CLAIM_WINDOW_SECONDS
    seconds = int(text)
    if seconds <= 0:
        raise ValueError(f"{CLAIM_WINDOW} must be a positive number of seconds, not {text!r}")
    return seconds


RUN_ID_PREFIX = "run-"
"""Every run id starts so: a claim mark of another shape (sosw, a hand-made claim) is not a run's."""


def new_run_id() -> str:
    """A new run's id: random, so that no other run, nor a re-run of the same execution, ever shares it."""
    return RUN_ID_PREFIX + uuid.uuid4().hex


def is_run_id(mark: object) -> bool:
    """Whether a claim mark (``foreman_claim``) is a run's id."""
    return isinstance(mark, str) and mark.startswith(RUN_ID_PREFIX)


def deadline_text(epoch: float) -> str:
    """``epoch`` as the RFC 3339 timestamp the Choice state compares ``$$.State.EnteredTime`` with: UTC, whole
    seconds (rounded up: never earlier than asked), ``Z``, the form AWS documents for timestamp rules."""
    return datetime.fromtimestamp(math.ceil(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
