"""Part 3 of ``make bench``: the cap under overlapping executions, with and without the Orchestrator lease.

One labourer with cap S whose tasks never complete (``duration`` an hour), a deep queue, and E Orchestrator
executions started one after another with random gaps (seeded) of 0 to G seconds, as a retried schedule, a run
slower than its interval or a ``foreman run`` by hand would start them. Each run's FetchGreenfieldTasks starts
``fetch_delay`` seconds late (as a slow metric read or a large budget would make it): the window between counting
the running tasks and fetching new ones, in which an unguarded run fills slots another run is filling too. On an
emulator that runs a whole execution in well under a second, without that delay the runs rarely overlap at all.
After each execution ends, the labourer's tasks in flight are counted; the peak over the whole sequence, divided by
the cap, is the figure (1.00: the cap held). The baseline runs the same sequence in the same process with the lease
always granted, which is how every run behaved before the lease (and how sosw behaves): each counts running tasks
before the others have claimed.
"""

from __future__ import annotations

import contextlib
import io
import random
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any
from unittest import mock

from foreman.local.stack import EmbeddedStack
from foreman_core import lease
from foreman_core.config import Tables
from foreman_core.greenfield import RunMarkers
from foreman_core.task_store import TaskStore

LABOURER = "bench-overlap"


@dataclass(frozen=True)
class OverlapResult:
    """One sequence of overlapping executions: the peak in flight, the cap, and what the runs reported."""

    lease: bool
    executions: int
    cap: int
    peak_in_flight: int
    invoked: int
    busy_runs: int
    seconds: float

    @property
    def peak_over_cap(self) -> float:
        """Peak tasks in flight / cap: 1.00 when the cap held."""
        return self.peak_in_flight / self.cap

    def figures(self) -> dict[str, Any]:
        """Plain data for the JSON document."""
        return {
            "lease": self.lease,
            "executions": self.executions,
            "cap": self.cap,
            "peak_in_flight": self.peak_in_flight,
            "peak_over_cap": round(self.peak_over_cap, 2),
            "invoked": self.invoked,
            "busy_runs": self.busy_runs,
            "seconds": round(self.seconds, 1),
        }


def _always_granted(
    client: Any, table: str, *, run: str, execution: str, now: float, seconds: int
) -> lease.LeaseOutcome:
    return lease.LeaseOutcome(held=True, execution=execution, expires_at=now + seconds, run=run)


FETCH_FUNCTION = "foreman-FetchGreenfieldTasksFunction"


def run_overlap(
    *, executions: int, cap: int, max_gap: float, seed: int, with_lease: bool, fetch_delay: float = 0.5
) -> OverlapResult:
    """E executions ``max_gap``-staggered on a fresh embedded stack; the lease as shipped or always granted."""
    patch: AbstractContextManager[Any] = (
        nullcontext() if with_lease else mock.patch.object(lease, "take", _always_granted)
    )
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{LABOURER}"
    quiet = contextlib.redirect_stdout(io.StringIO())  # Summarize prints its EMF metrics; the tables own stdout
    with patch, quiet, EmbeddedStack(parameters={"LabourerArns": arn, "LogLevel": "ERROR"}) as stack:
        stack.add_function(LABOURER, lambda event, context: {"ok": True})

        def slow_fetch(real: Any, event: Any, context: Any) -> Any:
            time.sleep(fetch_delay)
            return real(event, context)

        stack.runtime.wrap(FETCH_FUNCTION, slow_fetch)
        stack.put_config(
            {
                "task_config": {
                    "labourers": {
                        LABOURER: {"arn": arn, "max_simultaneous_invocations": cap, "duration": 3600, "cooldown": 0}
                    }
                }
            }
        )
        store = TaskStore(stack.client("dynamodb"), Tables())
        store.create_tasks(LABOURER, [{"n": n} for n in range(cap * executions * 2)])
        gaps = random.Random(seed)
        began = time.perf_counter()
        arns = []
        for _ in range(executions):
            arns.append(stack.start())
            time.sleep(gaps.uniform(0, max_gap))
        peak, invoked, busy = 0, 0, 0
        for execution_arn in arns:
            output = stack.wait(execution_arn).output
            (line,) = output["labourers"].values()
            invoked += line.get("invoked", 0)
            busy += not (output.get("lease") or {}).get("held", True)
            markers = RunMarkers.at(time.time(), duration=3600, cooldown=0)
            peak = max(peak, store.count_running(LABOURER, markers))
        return OverlapResult(
            lease=with_lease,
            executions=executions,
            cap=cap,
            peak_in_flight=peak,
            invoked=invoked,
            busy_runs=busy,
            seconds=time.perf_counter() - began,
        )


def overlap_rows(baseline: OverlapResult, foreman: OverlapResult) -> list[list[str]]:
    """The table: baseline (no lease) against Foreman (lease), with the ratio."""
    ratio = foreman.peak_over_cap / baseline.peak_over_cap if baseline.peak_over_cap else float("nan")
    return [
        ["peak in flight / cap", f"{baseline.peak_over_cap:.2f}", f"{foreman.peak_over_cap:.2f}", f"{ratio:.2f}"],
        ["peak in flight", str(baseline.peak_in_flight), str(foreman.peak_in_flight), ""],
        ["tasks invoked", str(baseline.invoked), str(foreman.invoked), ""],
        ["runs that found the lease taken (busy)", str(baseline.busy_runs), str(foreman.busy_runs), ""],
        ["wall time, s (emulator)", f"{baseline.seconds:.1f}", f"{foreman.seconds:.1f}", ""],
    ]
