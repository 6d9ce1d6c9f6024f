"""The Scavenger's run over many labourers: find those with something to do, then scavenge them in batches.

A Scavenger run costs what its work costs, not what its labourers number (issue 23):

1. **FindLabourersWithWork** (``labourers_with_work``): per labourer, one ``Limit=1`` query on the greenfield index
   for any invoked task (``greenfield >= start``: running, completed, expired or failed) and, only if there is none,
   one ``Limit=1`` query on the retry index for a due retry. A labourer with neither is not scavenged: nothing in
   its queue can be archived, expired or requeued. The labourers with work are handed on as their positions in the
   config (a few bytes each, whatever their ids), in at most ``MAX_BATCHES`` batches (``batches``).
2. **ScavengeLabourers** (a Map over the batches, ``scavenge_batch``): one Lambda call scavenges a batch's
   labourers one after the other (``scavenger.Scavenger``), each isolated (an error is its report's, never the
   batch's), and stops starting labourers when the call's time runs short (``deferred``: the next run takes them).

Every state stays bounded whatever fails: a batch's report is cut to ``BATCH_REPORT_BYTES`` (labourer lines past it
are counted in ``omitted``), a batch whose call failed is reported by its number and error name only (the cause is in
the execution's history and log), and there are at most ``MAX_BATCHES`` of them: the Map's result stays below
``MAX_BATCHES * BATCH_REPORT_BYTES`` (160 KB) of Step Functions' 256 KiB.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from foreman_core.config import OrchestratorConfig
from foreman_core.lease import read_finished
from foreman_core.scavenger import Notifier, ScavengeLimits, Scavenger
from foreman_core.task_store import TaskStore

MAX_BATCHES = 40
"""The most batches (ScavengeLabourers calls, Map iterations) of one run."""

BATCH_LABOURERS = 10
"""A batch's size while the labourers with work fit ``MAX_BATCHES`` batches of it; beyond, batches grow."""

BATCH_REPORT_BYTES = 4000
"""The most bytes of a batch's report (compact JSON): ``MAX_BATCHES`` of them stay far below 256 KiB."""

REPORTED_ERROR_CHARS = 300
"""A labourer's unexpected error (not a DynamoDB one, which its report carries) is cut to this many characters."""

RESERVED_MILLIS = 30_000
"""A batch starts no labourer with less than this much of its call's time left: one labourer's phases at their limits
(``ScavengeLimits``: 400 moves) take a few seconds on AWS; the rest is ``deferred`` to the next run."""

COUNTS = ("archived", "retried", "dead", "requeued", "failures_reported", "lost_races")
"""A labourer report's counts that a batch's report adds up."""


def labourers_with_work(config: OrchestratorConfig, store: TaskStore, *, start: int, now: float) -> list[int]:
    """The positions (in ``config.labourers``) of the labourers the Scavenger has something to do for: an invoked
    task (running, completed, expired or failed) or a due retry. At most two ``Limit=1`` queries a labourer, one
    when it has invoked tasks."""
    found = []
    for index, labourer in enumerate(config.labourers):
        if store.has_invoked(labourer.id, start=start) or store.has_due_retry(labourer.id, now=now):
            found.append(index)
    return found


def batches(indexes: Sequence[int]) -> list[list[int]]:
    """``indexes`` in consecutive batches of ``BATCH_LABOURERS``, or of more when that would make more than
    ``MAX_BATCHES``; none for none."""
    if not indexes:
        return []
    size = max(BATCH_LABOURERS, math.ceil(len(indexes) / MAX_BATCHES))
    return [list(indexes[first : first + size]) for first in range(0, len(indexes), size)]


def find_work(state: Mapping[str, Any], config: OrchestratorConfig, *, store: TaskStore) -> dict[str, Any]:
    """The ``FindLabourersWithWork`` step: LoadConfig's ``state`` with ``labourers`` (the ids, which the Scavenger no
    longer carries on) replaced by ``batches`` (labourer positions) and ``with_work`` (how many)."""
    indexes = labourers_with_work(config, store, start=int(state["run"]["start"]), now=float(state["run"]["now"]))
    return {
        "run": state["run"],
        "config": state["config"],
        "labourers": len(config.labourers),
        "with_work": len(indexes),
        "batches": batches(indexes),
    }


def scavenge_batch(
    state: Mapping[str, Any],
    config: OrchestratorConfig,
    *,
    client: Any,
    notifier: Notifier,
    lambda_client: Any = None,
    limits: ScavengeLimits | None = None,
    remaining_millis: Callable[[], int] = lambda: 900_000,
    observe: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """The ``ScavengeLabourers`` step for one batch: ``state`` is ``{"labourers": [positions], "batch": its number,
    "run": LoadConfig's run, "config": its reference}``; ``config`` the run's config.

    Returns the batch's report: ``labourers`` (each scavenged labourer's line: ``LabourerReport.to_dict`` without zeros)
    and ``totals``: the batch's number, how many it ``scavenged``, the ``COUNTS`` added up, ``with_errors``,
    ``deferred`` (labourers not started: the call's time ran short) and ``omitted`` (lines left out to keep the
    report within ``BATCH_REPORT_BYTES``; their counts are in the totals). Zero totals are left out. A labourer
    that raised anything is reported with its error, and the next one goes on. ``observe`` is called with each
    labourer's whole line (for its metrics and log), listed in the report or not.
    """
    now = float(state["run"]["now"])
    start = int(state["run"]["start"])
    store = TaskStore.for_config(client, config, clock=lambda: now)
    finished = read_finished(client, config.tables.tasks)  # which runs finished: their claims were sent
    scavenger = Scavenger(store, notifier=notifier, lambda_client=lambda_client, limits=limits, finished=finished)
    lines: list[dict[str, Any]] = []
    deferred = 0
    for index in state["labourers"]:
        labourer = config.labourers[int(index)]
        if remaining_millis() < RESERVED_MILLIS:
            deferred += 1
            continue
        try:
            report = scavenger.scavenge(labourer, config.markers(labourer.id, start), now=now).to_dict()
        except Exception as error:  # one labourer's fault is its line's, never the batch's
            text = f"{type(error).__name__}: {error}"
            if len(text) > REPORTED_ERROR_CHARS:
                text = text[: REPORTED_ERROR_CHARS - 3] + "..."
            report = {"labourer_id": labourer.id, "errors": [text]}
        lines.append(compact_report(report))
        if observe is not None:
            observe(lines[-1])
    return bounded_report(lines, batch=int(state.get("batch", 0)), deferred=deferred)


def compact_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """A labourer's report without its zero and empty fields, and without ``retry_base`` when nothing was retried."""
    line = {key: value for key, value in report.items() if key == "labourer_id" or value not in (0, None, [], {})}
    if not line.get("retried"):
        line.pop("retry_base", None)
    return line


def bounded_report(lines: Sequence[Mapping[str, Any]], *, batch: int, deferred: int = 0) -> dict[str, Any]:
    """A batch's report: ``totals`` (every line's counts added up) and the lines themselves while they fit
    ``BATCH_REPORT_BYTES`` (those with errors first, then those that moved most), the others counted in
    ``omitted``."""
    totals: dict[str, Any] = {"batch": batch, "scavenged": len(lines)}
    for key in COUNTS:
        total = sum(int(line.get(key, 0)) for line in lines)
        if total:
            totals[key] = total
    with_errors = sum(1 for line in lines if line.get("errors") or line.get("notification_errors"))
    if with_errors:
        totals["with_errors"] = with_errors
    if deferred:
        totals["deferred"] = deferred
    report: dict[str, Any] = {"labourers": [], "totals": totals}
    ordered = sorted(
        lines,
        key=lambda line: (
            not (line.get("errors") or line.get("notification_errors")),
            -sum(int(line.get(key, 0)) for key in COUNTS),
        ),
    )
    room = BATCH_REPORT_BYTES - _bytes(report) - len(',"omitted":0000')
    omitted = 0
    for line in ordered:
        size = _bytes(line) + 1
        if size <= room:
            report["labourers"].append(line)
            room -= size
        else:
            omitted += 1
    if omitted:
        totals["omitted"] = omitted
    return report


def _bytes(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())
