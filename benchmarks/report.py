"""Turning measured runs into figures: medians, per-task and per-labourer figures, ratios, tables and JSON.

Pure functions over plain data, so the arithmetic is tested without running anything
(``tests/functional/test_benchmarks.py``).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.meter import CallLog

SOSW = "sosw"
FOREMAN = "Foreman"
ORCHESTRATORS = (SOSW, FOREMAN)

EMULATOR_NOTE = (
    "Wall time is local-emulator time (moto, in-process, one Python process on this machine), not AWS latency. "
    "moto's request handling dominates it, and moto sorts the whole table for every Query (O(n log n) in the "
    "table's size, whatever the Limit), so its time grows with the queue for both orchestrators, most for the one "
    "making more Queries; DynamoDB's cost of a Query is the items it reads (the items-read figures)."
)


@dataclass
class RunSample:
    """One measured orchestrator run.

    ``labourers`` is K, ``invoked`` the labourer invocations that arrived. ``calls``/``task_calls`` are per
    ``service.Operation``; ``state_transitions``/``history_events`` come from a Foreman execution's history.
    """

    orchestrator: str
    labourers: int
    seconds: float
    invoked: int
    calls: dict[str, int]
    task_calls: dict[str, int]
    items_read: int
    errors: dict[str, int] = field(default_factory=dict)
    state_transitions: int | None = None
    history_events: int | None = None

    @classmethod
    def from_log(
        cls,
        orchestrator: str,
        log: CallLog,
        *,
        labourers: int,
        seconds: float,
        invoked: int,
        state_transitions: int | None = None,
        history_events: int | None = None,
    ) -> RunSample:
        """A sample from a meter's log of the run."""
        return cls(
            orchestrator=orchestrator,
            labourers=labourers,
            seconds=seconds,
            invoked=invoked,
            calls=dict(sorted(log.calls.items())),
            task_calls=dict(sorted(log.task_calls.items())),
            items_read=log.items_read,
            errors=dict(sorted(log.errors.items())),
            state_transitions=state_transitions,
            history_events=history_events,
        )


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or ``None`` when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def _median_count(values: Sequence[int]) -> int:
    return int(statistics.median_low(values))


def _median_counter(counters: Sequence[Mapping[str, int]]) -> dict[str, int]:
    keys = sorted({key for counter in counters for key in counter})
    medians = {key: _median_count([counter.get(key, 0) for counter in counters]) for key in keys}
    return {key: value for key, value in medians.items() if value}


@dataclass
class Summary:
    """One orchestrator's figures over several runs of the same workload: medians (counts take the lower median, so
    they stay whole numbers), and the figures derived from them."""

    orchestrator: str
    labourers: int
    runs: int
    seconds: float
    seconds_each: list[float]
    invoked: int
    calls: dict[str, int]
    task_calls: dict[str, int]
    items_read: int
    calls_identical_in_every_run: bool
    errors: dict[str, int] = field(default_factory=dict)
    state_transitions: int | None = None
    history_events: int | None = None

    @property
    def total_calls(self) -> int:
        """API calls per run."""
        return sum(self.calls.values())

    @property
    def task_call_total(self) -> int:
        """Per-task calls (claims and labourer invokes) per run."""
        return sum(self.task_calls.values())

    @property
    def control_calls(self) -> dict[str, int]:
        """Control-plane calls per run, by operation: everything that is not a per-task claim or invoke."""
        return dict(Counter(self.calls) - Counter(self.task_calls))

    @property
    def control_call_total(self) -> int:
        """Control-plane calls per run."""
        return self.total_calls - self.task_call_total

    @property
    def calls_per_task(self) -> float | None:
        """Every API call of a run, per invoked task."""
        return ratio(self.total_calls, self.invoked)

    @property
    def task_calls_per_task(self) -> float | None:
        """Per-task calls per invoked task (2 = one claim and one invoke)."""
        return ratio(self.task_call_total, self.invoked)

    @property
    def control_calls_per_labourer(self) -> float | None:
        """Control-plane calls per labourer per run."""
        return ratio(self.control_call_total, self.labourers)

    @property
    def transitions_per_task(self) -> float | None:
        """State transitions per invoked task (Foreman only)."""
        return ratio(self.state_transitions, self.invoked)

    @property
    def events_per_task(self) -> float | None:
        """Execution history events per invoked task (Foreman only)."""
        return ratio(self.history_events, self.invoked)

    def figures(self) -> dict[str, Any]:
        """Every figure, raw and derived, as plain data (for the JSON document)."""
        data = asdict(self)
        data.update(
            total_calls=self.total_calls,
            task_call_total=self.task_call_total,
            control_call_total=self.control_call_total,
            control_calls=dict(sorted(self.control_calls.items())),
            calls_per_task=self.calls_per_task,
            task_calls_per_task=self.task_calls_per_task,
            control_calls_per_labourer=self.control_calls_per_labourer,
            transitions_per_task=self.transitions_per_task,
            events_per_task=self.events_per_task,
        )
        return data


def summarize(samples: Sequence[RunSample]) -> Summary:
    """The median figures of several runs of one orchestrator on the same workload."""
    if not samples:
        raise ValueError("no runs to summarize")
    names = {sample.orchestrator for sample in samples}
    if len(names) != 1:
        raise ValueError(f"runs of different orchestrators cannot be summarized together: {sorted(names)}")
    transitions = [s.state_transitions for s in samples if s.state_transitions is not None]
    events = [s.history_events for s in samples if s.history_events is not None]
    return Summary(
        orchestrator=samples[0].orchestrator,
        labourers=samples[0].labourers,
        runs=len(samples),
        seconds=statistics.median(s.seconds for s in samples),
        seconds_each=[round(s.seconds, 4) for s in samples],
        invoked=_median_count([s.invoked for s in samples]),
        calls=_median_counter([s.calls for s in samples]),
        task_calls=_median_counter([s.task_calls for s in samples]),
        items_read=_median_count([s.items_read for s in samples]),
        calls_identical_in_every_run=all(s.calls == samples[0].calls for s in samples),
        errors=_median_counter([s.errors for s in samples]),
        state_transitions=_median_count(transitions) if transitions else None,
        history_events=_median_count(events) if events else None,
    )


# -- tables ------------------------------------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 2) -> str:
    """A figure for a table cell: integers as they are, other numbers with ``digits`` decimals, ``-`` for none."""
    if value is None:
        return "-"
    if isinstance(value, int) or (float(value).is_integer() and digits == 0):
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain-text table: the first column left-aligned, the others right-aligned, a rule under the headers."""
    widths = [len(header) for header in headers]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row {row!r} has {len(row)} cells, the table has {len(headers)} columns")
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        parts = [first.ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def comparison_rows(sosw: Summary, foreman: Summary) -> list[list[str]]:
    """The main comparison: one row per figure, columns sosw, Foreman, Foreman/sosw."""
    figures: list[tuple[str, float | None, float | None, int]] = [
        ("invoked tasks per run", sosw.invoked, foreman.invoked, 0),
        ("API calls per run", sosw.total_calls, foreman.total_calls, 0),
        ("API calls per invoked task", sosw.calls_per_task, foreman.calls_per_task, 2),
        ("  per-task calls (claim + invoke) per task", sosw.task_calls_per_task, foreman.task_calls_per_task, 2),
        ("control-plane calls per run", sosw.control_call_total, foreman.control_call_total, 0),
        (
            "control-plane calls per labourer per run",
            sosw.control_calls_per_labourer,
            foreman.control_calls_per_labourer,
            2,
        ),
        ("items read by Query/Scan per run", sosw.items_read, foreman.items_read, 0),
        ("wall time per run, s (local emulator, median)", sosw.seconds, foreman.seconds, 3),
        ("state transitions per run", sosw.state_transitions, foreman.state_transitions, 0),
        ("state transitions per invoked task", sosw.transitions_per_task, foreman.transitions_per_task, 2),
        ("history events per run", sosw.history_events, foreman.history_events, 0),
        ("history events per invoked task", sosw.events_per_task, foreman.events_per_task, 2),
    ]
    return [
        [label, fmt(left, digits), fmt(right, digits), fmt(ratio(right, left), 2)]
        for label, left, right, digits in figures
    ]


def operation_rows(sosw: Summary, foreman: Summary) -> list[list[str]]:
    """API calls per run by ``service.Operation``, per-task and control-plane rows apart, with totals."""
    rows: list[list[str]] = []
    for kind, pick in (("per task", "task_calls"), ("control plane", "control_calls")):
        left: Mapping[str, int] = getattr(sosw, pick)
        right: Mapping[str, int] = getattr(foreman, pick)
        for operation in sorted(set(left) | set(right)):
            rows.append([f"{operation} [{kind}]", fmt(left.get(operation, 0), 0), fmt(right.get(operation, 0), 0)])
    rows.append(["total", fmt(sosw.total_calls, 0), fmt(foreman.total_calls, 0)])
    return rows


@dataclass
class DepthPoint:
    """Both orchestrators at one queue depth (one labourer). ``query_seconds``: the emulator's time for one bare
    ``Limit = 1`` Query at this depth, the floor under every Query of a run."""

    depth: int
    sosw: Summary
    foreman: Summary
    query_seconds: float | None = None

    def figures(self) -> dict[str, Any]:
        """Plain data for the JSON document, ratios included."""
        return {
            "depth": self.depth,
            "emulator_seconds_per_query": self.query_seconds,
            SOSW: self.sosw.figures(),
            FOREMAN: self.foreman.figures(),
            "ratios_foreman_over_sosw": {
                "calls": ratio(self.foreman.total_calls, self.sosw.total_calls),
                "items_read": ratio(self.foreman.items_read, self.sosw.items_read),
                "seconds": ratio(self.foreman.seconds, self.sosw.seconds),
            },
        }


DEPTH_HEADERS = (
    "queued",
    "invoked",
    "calls sosw",
    "calls Foreman",
    "items read sosw",
    "items read Foreman",
    "items F/s",
    "s sosw",
    "s Foreman",
    "s F/s",
    "s per Query",
)


def depth_rows(points: Sequence[DepthPoint]) -> list[list[str]]:
    """The depth sweep: one row per depth."""
    rows = []
    for point in points:
        left, right = point.sosw, point.foreman
        invoked = fmt(left.invoked, 0) if left.invoked == right.invoked else f"{left.invoked}/{right.invoked}"
        rows.append(
            [
                fmt(point.depth, 0),
                invoked,
                fmt(left.total_calls, 0),
                fmt(right.total_calls, 0),
                fmt(left.items_read, 0),
                fmt(right.items_read, 0),
                fmt(ratio(right.items_read, left.items_read), 3),
                fmt(left.seconds, 3),
                fmt(right.seconds, 3),
                fmt(ratio(right.seconds, left.seconds), 2),
                fmt(point.query_seconds, 3),
            ]
        )
    return rows


def comparison_document(sosw: Summary, foreman: Summary) -> dict[str, Any]:
    """The main comparison as plain data, with every Foreman/sosw ratio of the printed table."""
    ratios = {
        "calls": ratio(foreman.total_calls, sosw.total_calls),
        "calls_per_task": ratio(foreman.calls_per_task, sosw.calls_per_task),
        "control_calls_per_labourer": ratio(foreman.control_calls_per_labourer, sosw.control_calls_per_labourer),
        "items_read": ratio(foreman.items_read, sosw.items_read),
        "seconds": ratio(foreman.seconds, sosw.seconds),
    }
    return {SOSW: sosw.figures(), FOREMAN: foreman.figures(), "ratios_foreman_over_sosw": ratios}


def write_json(document: Mapping[str, Any], path: Path) -> Path:
    """Write ``document`` as indented JSON to ``path`` (creating its folder); the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path
