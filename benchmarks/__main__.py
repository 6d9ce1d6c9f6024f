"""``python -m benchmarks`` (``make bench``): Foreman vs sosw 0.7.51, side by side, printed as tables.

Two parts, both on the embedded stack (moto in-process), both orchestrators on the same data one after the other:

1. *Comparison*: K labourers x M queued tasks each, cap S: API calls by operation, calls per invoked task,
   control-plane calls per labourer, wall time (median of N runs), and Foreman's state transitions and history
   events per invoked task; Foreman/sosw ratios.
2. *Queue-depth sweep*: one labourer, cap S, queues of increasing depth: calls per run, items read, wall time.
3. *Overlap*: E Orchestrator executions started with random gaps, one labourer whose tasks never complete: peak
   tasks in flight / cap, with the Orchestrator lease and (the baseline, as before it and as sosw) without it.
4. *Reads*: one labourer, tasks of growing payload size: the read units a run reports (as DynamoDB charges them)
   and the fetch's peak memory, the whole budget in one list (before) against the shipped fetch's pages
   (``benchmarks.reads``).
5. *Labourers*: configs of growing size (10, 100, 1,000 labourers with three health metrics each, one in twenty
   with tasks): control-plane and GetMetricData calls, the largest state and the history events of a run
   (``benchmarks.labourers``).
7. *Monthly bill*: a deployment at 10, 100 and 1,000 labourers, idle and with 100 tasks a minute, on each workflow
   type: one minute of each measured (both state machines, the completions), priced by service for a month at
   us-east-1 list prices (``benchmarks.bill``).
6. *Cost*: one run per workflow type (``OrchestratorType``) and size, the cost per million tasks from the run's own
   executions (the Orchestrator, its Invocations execution, the Express children: transitions, requests, billed
   duration, log volume; ``benchmarks.cost``), against issue 21's goal, and the largest child against an Express
   child's limits (256 KiB of state, 300 s).
8. *Throughput*: one run of 10 labourers x cap 500 (600 queued each) by sosw and by Foreman on each workflow type,
   and a size sweep of one Foreman run at growing sizes: invoked tasks, wall time against sosw's, the run-wide
   executions' history events and largest state, the children (``benchmarks.throughput``).

``--parts`` runs only the parts named (e.g. ``--parts throughput,cost``).

Progress goes to stderr, the tables to stdout, every figure to a JSON file (``benchmarks/results/latest.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_OUTPUT = RESULTS / "latest.json"
QUICK_OUTPUT = RESULTS / "quick.json"

DEEP = 20_000
"""From this depth on, the sweep measures one run per orchestrator unless ``--sweep-runs`` says otherwise: moto sorts
the whole table for every Query, so one run at 100,000 queued tasks takes about a minute of emulator time."""

DEFAULTS: dict[str, Any] = {
    "labourers": 5,
    "depth": 1000,
    "cap": 20,
    "runs": 5,
    "depths": (100, 1_000, 10_000, 100_000),
    "sweep_runs": 3,
    "overlap_executions": 10,
    "cost_tasks": (23, 1_000),
    "tracking_minutes": 60,
    "reads_tasks": 200,
    "reads_payloads": (1_000, 10_000, 100_000),
    "fleet": (10, 100, 1_000),
    "bill": (10, 100, 1_000),
    "throughput": (10, 500, 600),
    "sizes": (500, 2_000, 5_000),
}
QUICK: dict[str, Any] = {
    "labourers": 2,
    "depth": 30,
    "cap": 5,
    "runs": 1,
    "depths": (20, 60),
    "sweep_runs": 1,
    "overlap_executions": 4,
    "cost_tasks": (23,),
    "tracking_minutes": 4,
    "reads_tasks": 20,
    "reads_payloads": (1_000, 100_000),
    "fleet": (10, 40),
    "bill": (10, 40),
    "throughput": (3, 10, 12),
    "sizes": (50, 200),
}

PARTS = ("comparison", "sweep", "overlap", "reads", "labourers", "bill", "cost", "tracking", "throughput")
"""The parts ``--parts`` may name, in the order they run."""

OVERLAP_CAP = 10
OVERLAP_MAX_GAP = 0.4
"""The overlap part's labourer cap and the largest gap (s) between two starts (seeded, the same for both runs)."""


def _depths(text: str) -> tuple[int, ...]:
    """``--depths``: comma-separated queue depths (``100,1000,10k,100k`` style suffixes allowed); empty for none."""
    depths = []
    for raw in text.replace("_", "").split(","):
        part = raw.strip().lower()
        if not part:
            continue
        multiplier = 1000 if part.endswith("k") else 1
        try:
            value = int(float(part.removesuffix("k")) * multiplier)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a queue depth: {raw.strip()!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"a queue depth must be at least 1, got {value}")
        depths.append(value)
    return tuple(sorted(set(depths)))


def _triple(text: str) -> tuple[int, ...]:
    """``--throughput``: labourers, cap, queued each (comma-separated); empty for none."""
    if not text.strip():
        return ()
    values = tuple(int(part) for part in text.replace("_", "").split(","))
    if len(values) != 3 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected three positive numbers (labourers,cap,queued), got {text!r}")
    return values


def _parts(text: str) -> tuple[str, ...]:
    """``--parts``: part names, comma-separated."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in PARTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown part(s) {unknown}; the parts are {', '.join(PARTS)}")
    return names


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; ``--quick`` fills in small sizes for whatever was not given explicitly."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=(
            "Foreman's Orchestrator vs sosw 0.7.51's, on the same local stack (moto, in-process) and the same data: "
            "AWS API calls by operation, calls per invoked task, control-plane calls per labourer, wall time "
            "(local-emulator time, not AWS latency), Foreman's state transitions and history events, and a "
            "queue-depth sweep. Prints tables; writes every figure as JSON."
        ),
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for a fast check (a few seconds)")
    parser.add_argument("--labourers", "-k", type=_positive, help=f"K labourers (default {DEFAULTS['labourers']})")
    parser.add_argument(
        "--depth", "-m", type=_positive, help=f"M queued tasks per labourer (default {DEFAULTS['depth']})"
    )
    parser.add_argument("--cap", "-s", type=_positive, help=f"S, each labourer's cap (default {DEFAULTS['cap']})")
    parser.add_argument(
        "--runs", "-n", type=_positive, help=f"measured runs per orchestrator (default {DEFAULTS['runs']})"
    )
    parser.add_argument(
        "--depths",
        type=_depths,
        help="queue depths of the sweep, comma-separated, e.g. 100,1k,10k,100k (default 100,1000,10000,100000); "
        "an empty string skips the sweep",
    )
    parser.add_argument(
        "--sweep-runs",
        type=_positive,
        help=f"measured runs per orchestrator and depth (default {DEFAULTS['sweep_runs']}, and 1 from {DEEP:,} queued "
        "tasks on, where one run takes about a minute in the emulator)",
    )
    parser.add_argument(
        "--overlap-executions",
        type=int,
        help=f"E overlapping executions of the overlap part (default {DEFAULTS['overlap_executions']}; 0 skips it)",
    )
    parser.add_argument(
        "--cost-tasks",
        type=_depths,
        help="tasks per run of the cost part, comma-separated, one run per workflow type each (default 23,450: the "
        "docs' 1-million-a-month example, and Standard's default budget); an empty string skips the part",
    )
    parser.add_argument(
        "--throughput",
        type=_triple,
        help="the throughput part's labourers, cap and queued tasks each, e.g. 10,500,600 (the default; goal "
        "labourers x cap tasks in one run); an empty string skips it",
    )
    parser.add_argument(
        "--sizes",
        type=_depths,
        help="tasks of the throughput part's size sweep, one Foreman run each (default 500,2k,5k: one run of 5,000 "
        "takes 5-8 minutes on a shared 2-CPU machine, 20,000 would take over 20); an empty string skips it",
    )
    parser.add_argument(
        "--parts",
        type=_parts,
        help=f"only these parts, comma-separated, of {', '.join(PARTS)} (default all)",
    )
    parser.add_argument(
        "--tracking-minutes",
        type=int,
        help="simulated minutes of the target-tracking part, feelings against target tracking on the demo's "
        f"database model (default {DEFAULTS['tracking_minutes']}; 0 skips it)",
    )
    parser.add_argument(
        "--reads-tasks",
        type=int,
        help=f"tasks per run of the reads part (default {DEFAULTS['reads_tasks']}; 0 skips it)",
    )
    parser.add_argument(
        "--reads-payloads",
        type=_depths,
        help="payload sizes (bytes) of the reads part, comma-separated (default 1k,10k,100k)",
    )
    parser.add_argument(
        "--fleet",
        type=_depths,
        help="labourer counts of the labourers part, comma-separated (default 10,100,1k; an empty string skips it)",
    )
    parser.add_argument(
        "--bill",
        type=_depths,
        help="labourer counts of the monthly-bill part, comma-separated (default 10,100,1k; an empty string skips it)",
    )
    parser.add_argument("--output", "-o", type=Path, help=f"the JSON file (default {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    if args.parts is None:
        args.parts = PARTS
    args.deep_runs = args.sweep_runs or 1
    for key, value in base.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.output is None:
        args.output = QUICK_OUTPUT if args.quick else DEFAULT_OUTPUT
    return args


def sweep_runs(args: argparse.Namespace, depth: int) -> int:
    """Measured runs per orchestrator at ``depth``: ``--sweep-runs``, or its default below ``DEEP`` and 1 from there."""
    return int(args.sweep_runs if depth < DEEP else args.deep_runs)


def _versions() -> dict[str, str]:
    versions = {}
    for package in ("sosw", "moto", "boto3", "botocore"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _runs_text(args: argparse.Namespace) -> str:
    runs = {depth: sweep_runs(args, depth) for depth in args.depths}
    if len(set(runs.values())) <= 1:
        return f"{next(iter(runs.values()), args.sweep_runs)} run(s)"
    deep = ", ".join(f"{depth:,}" for depth, count in runs.items() if count == args.deep_runs)
    return f"{args.sweep_runs} run(s) ({args.deep_runs} at {deep})"


def _load_average() -> float:
    """The 1-minute load average (other processes slow the emulator down), or -1 where the OS has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return -1.0


def _progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def run_comparison(args: argparse.Namespace, progress: Callable[[str], None]) -> dict[str, Any]:
    """Part 1: K x M, cap S, N runs of each; the summaries and the sosw cold-start calls."""
    from benchmarks.report import FOREMAN, SOSW, summarize
    from benchmarks.workload import Bench, labourer_ids

    with Bench(labourer_ids(args.labourers), cap=args.cap) as bench:
        began = time.perf_counter()
        bench.fill(args.depth)
        progress(f"queued {args.labourers} x {args.depth:,} tasks in {time.perf_counter() - began:.1f} s")
        bench.warm_up()
        samples = bench.samples(args.runs, progress=progress)
        cold_start = dict(sorted(bench.sosw_cold_start.calls.items()))
    return {"sosw": summarize(samples[SOSW]), "foreman": summarize(samples[FOREMAN]), "sosw_cold_start": cold_start}


def run_sweep(args: argparse.Namespace, progress: Callable[[str], None]) -> list[Any]:
    """Part 2: one labourer, cap S, the queue topped up to each depth in turn (created once, reused by both)."""
    from benchmarks.report import FOREMAN, SOSW, DepthPoint, summarize
    from benchmarks.workload import Bench, labourer_ids

    points = []
    with Bench(labourer_ids(1, prefix="bench-deep"), cap=args.cap) as bench:
        for number, depth in enumerate(args.depths):
            began = time.perf_counter()
            created = bench.fill(depth)
            progress(f"depth {depth:,}: queued {created:,} more tasks in {time.perf_counter() - began:.1f} s")
            if number == 0:
                bench.warm_up()
            query_seconds = bench.query_seconds(bench.labourers[0])
            samples = bench.samples(sweep_runs(args, depth), progress=progress)
            points.append(
                DepthPoint(
                    depth=depth,
                    sosw=summarize(samples[SOSW]),
                    foreman=summarize(samples[FOREMAN]),
                    query_seconds=query_seconds,
                )
            )
    return points


def run_overlap_part(args: argparse.Namespace, progress: Callable[[str], None]) -> tuple[Any, Any]:
    """Part 3: the same staggered sequence without the lease (baseline) and with it (Foreman as shipped)."""
    from benchmarks.overlap import run_overlap

    results = []
    for with_lease in (False, True):
        result = run_overlap(
            executions=args.overlap_executions, cap=OVERLAP_CAP, max_gap=OVERLAP_MAX_GAP, seed=10, with_lease=with_lease
        )
        progress(f"overlap {'with' if with_lease else 'without'} the lease: peak {result.peak_in_flight} in flight")
        results.append(result)
    return results[0], results[1]


def run_reads_part(args: argparse.Namespace, progress: Callable[[str], None]) -> list[Any]:
    """The reads part: one fresh stack per payload size."""
    from benchmarks.reads import measure_reads

    points = []
    for payload_bytes in args.reads_payloads:
        points.append(measure_reads(payload_bytes, args.reads_tasks))
        progress(f"reads: {args.reads_tasks} tasks of {payload_bytes:,} bytes, {points[-1].total_units:g} RCU a run")
    return points


def run_cost_part(args: argparse.Namespace, progress: Callable[[str], None]) -> dict[str, Any]:
    """The cost part: each size on each workflow type; the largest and longest child against Express's limits."""
    from benchmarks.cost import child_limits, measure

    runs = []
    for tasks in args.cost_tasks:
        for orchestrator_type in ("STANDARD", "EXPRESS"):
            runs.append(measure(orchestrator_type, tasks))
            progress(f"cost: {orchestrator_type} run of {tasks:,} tasks in {runs[-1].seconds:.1f} s")
    return {"runs": runs, "largest": child_limits(runs)}


def render_cost(cost: dict[str, Any]) -> list[str]:
    """The cost part's table, the goal's verdict per type and the largest child."""
    from benchmarks.cost import COST_HEADERS, cost_rows, goal_verdicts
    from benchmarks.report import render_table

    lines = []
    if cost["runs"]:
        lines += [
            "",
            "Cost per million tasks, from each run's own executions: the Orchestrator (its type), its Invocations "
            "execution (Standard: its transitions + 1 per child started), its Express children (a request each, "
            "billed duration at 64 MB, log at ERROR); us-east-1 list prices; Express durations from the embedded "
            "stack, an upper bound; all included = with the Lambda steps, S3 and DynamoDB, the same for both types",
            "",
            render_table(COST_HEADERS, cost_rows(cost["runs"])),
            "",
            *goal_verdicts(cost["runs"]),
        ]
    largest = cost["largest"]
    if largest:
        verdict = "fits" if largest["fits"] else "DOES NOT FIT"
        lines += [
            "",
            f"Largest child: state {largest['largest_child_state_bytes']:,} bytes of 262,144 (a run of "
            f"{largest['largest_child_run_tasks']:,} tasks); longest child {largest['longest_child_seconds']:g} s of "
            f"300 on the embedded stack (a run of {largest['longest_child_run_tasks']:,}): {verdict}.",
        ]
    return lines


def run_throughput_part(args: argparse.Namespace, progress: Callable[[str], None]) -> dict[str, Any]:
    """The throughput part: one run of each orchestrator (and shape), then the size sweep."""
    from benchmarks.throughput import run_throughput, sweep_point

    runs = []
    if args.throughput:
        labourers, cap, depth = args.throughput
        runs = run_throughput(labourers, cap, depth, progress=progress)
    sweep = []
    for size in args.sizes:
        sweep.append(sweep_point(size))
        progress(f"throughput sweep: {size:,} tasks in {sweep[-1].seconds:.1f} s, {sweep[-1].wide.children} children")
    return {"runs": runs, "sweep": sweep}


def render_throughput(args: argparse.Namespace, throughput: dict[str, Any]) -> list[str]:
    """The throughput part's two tables."""
    from benchmarks.report import render_table
    from benchmarks.throughput import SWEEP_HEADERS, SWEEP_LABOURERS, THROUGHPUT_HEADERS, sweep_rows, throughput_rows

    lines = []
    if throughput["runs"]:
        labourers, cap, depth = args.throughput
        lines += [
            "",
            f"Throughput: {labourers} labourers x cap {cap} x {depth} queued each, healthy (no health metrics: status "
            f"4); ONE run of each, goal {labourers * min(cap, depth):,} invoked; sosw and Foreman STANDARD on the same "
            "stack and data, Foreman EXPRESS on its own; s = emulator wall time from the start to the end of the run "
            "(Foreman: of its Invocations execution), after an unmeasured warm-up run at cap 1; run-wide = the "
            "Orchestrator's and the Invocations execution's histories (largest state: compact JSON)",
            "",
            render_table(THROUGHPUT_HEADERS, throughput_rows(throughput["runs"])),
        ]
    if throughput["sweep"]:
        lines += [
            "",
            f"Size sweep: one Foreman run (STANDARD) per size, {SWEEP_LABOURERS} labourers with a cap of a tenth of "
            "it each, a fresh stack each; the run-wide executions' events and largest state against the first size, "
            "same process. The default stops at 5,000: the emulator claims and invokes 10-20 tasks a second on a "
            "shared 2-CPU machine, so one run of 20,000 would take 20-35 minutes.",
            "",
            render_table(SWEEP_HEADERS, sweep_rows(throughput["sweep"])),
        ]
    return lines


def render_bill(points: list[Any]) -> list[str]:
    """The monthly-bill part's table, and the per-million price it measured."""
    from benchmarks.bill import BILL_HEADERS, LOAD, RUNS_A_MONTH, bill_rows, per_million
    from benchmarks.report import render_table

    prices = ", ".join(f"{kind} ${value:,.2f}" for kind, value in per_million(points).items())
    return [
        "",
        f"Monthly bill: one Orchestrator and one Scavenger run a minute ({RUNS_A_MONTH:,} a month each), idle and with "
        f"{LOAD} tasks a minute (completed through the OnSuccess destination, archived by the Scavenger); every "
        "labourer with three health metrics; us-east-1 list prices by service (benchmarks/bill.py names each page), "
        "no free tier; Lambda steps' duration assumed (30 ms + 8 ms per AWS call). The last column is the loaded month "
        "against the idle one plus the tasks at the marginal price per task measured at the smallest size "
        f"(per million tasks: {prices}).",
        "",
        render_table(BILL_HEADERS, bill_rows(points)),
    ]


@dataclass
class Parts:
    """What each part of the benchmark measured (an empty or ``None`` part was skipped)."""

    comparison: dict[str, Any] | None = None
    points: Sequence[Any] = ()
    overlap: tuple[Any, Any] | None = None
    cost: dict[str, Any] | None = None
    tracking: dict[str, Any] | None = None
    reads: Sequence[Any] = ()
    fleet: Sequence[Any] = ()
    bill: Sequence[Any] = ()
    throughput: dict[str, Any] | None = None


def render(args: argparse.Namespace, parts: Parts) -> str:
    """Every table and note, as printed."""
    from benchmarks.report import (
        DEPTH_HEADERS,
        EMULATOR_NOTE,
        comparison_rows,
        depth_rows,
        operation_rows,
        render_table,
    )

    comparison, points, overlap = parts.comparison, parts.points, parts.overlap
    cost, tracking, reads, fleet = parts.cost, parts.tracking, parts.reads, parts.fleet
    versions = _versions()
    lines = [f"Foreman vs sosw {versions['sosw']} on the embedded local stack (moto {versions['moto']}, in-process)"]
    if comparison:
        sosw, foreman = comparison["sosw"], comparison["foreman"]
        lines += [
            f"K={args.labourers} labourers x M={args.depth:,} queued tasks each, cap S={args.cap}, no health metrics "
            f"(status 4); median of {args.runs} run(s) each, after one unmeasured warm-up run each.",
            "",
            render_table(["", "sosw", "Foreman", "Foreman/sosw"], comparison_rows(sosw, foreman)),
            "",
            "API calls per run by operation ([per task] = the claim UpdateItem and the labourer Invoke)",
            "",
            render_table(["service.Operation", "sosw", "Foreman"], operation_rows(sosw, foreman)),
            "",
            "sosw's constructor (once per Lambda container, not counted above): "
            + (", ".join(f"{op} {count}" for op, count in comparison["sosw_cold_start"].items()) or "no calls"),
        ]
    if points:
        lines += [
            "",
            f"Queue-depth sweep: 1 labourer, cap {args.cap}; median of {_runs_text(args)} per depth "
            "(items read = sum of ScannedCount of the run's Query answers; s = local-emulator wall time per run; "
            "s per Query = moto's time for one bare Limit=1 Query at that depth)",
            "",
            render_table(DEPTH_HEADERS, depth_rows(points)),
        ]
    if overlap:
        from benchmarks.overlap import overlap_rows

        baseline, leased = overlap
        # one UpdateItem takes the lease, one UpdateItem (Summarize) gives it back
        lease_calls = 2
        lines += [
            "",
            f"Overlap: {baseline.executions} Orchestrator executions started 0-{OVERLAP_MAX_GAP} s apart (seeded), "
            f"each FetchGreenfieldTasks 0.5 s late (a slow run), one labourer, cap {OVERLAP_CAP}, tasks that never "
            "complete; in flight counted after each execution ends",
            "",
            render_table(
                ["", "no lease (before; sosw)", "Foreman (lease)", "Foreman/no lease"], overlap_rows(baseline, leased)
            ),
            "",
            f"The lease costs {lease_calls} calls per run (a conditional UpdateItem takes it, another gives it back), "
            f"{lease_calls / args.labourers:.2f} per labourer at K={args.labourers}.",
        ]
    if reads:
        from benchmarks.reads import READS_HEADERS, reads_rows

        lines += [
            "",
            f"Reads by task size: Foreman, one labourer, {args.reads_tasks} tasks a run; read capacity units (RCU) as "
            "the run reports them (DynamoDB's charge: items read, summed per request, rounded up to 4 KB, half on "
            "the greenfield index); the fetch's peak memory (tracemalloc) reading the budget into one list (before) "
            "and as shipped (pages of at most 100, each task's claim item kept: its payload text, for the claim's "
            "condition)",
            "",
            render_table(READS_HEADERS, reads_rows(list(reads))),
        ]
    if fleet:
        from benchmarks.labourers import SWEEP_HEADERS, sweep_rows

        lines += [
            "",
            "Labourers: one run per config size, three health metrics per labourer (data for one in ten), tasks for "
            "one in twenty (6 each, cap 4); control calls = every call but the claims and the labourers' invokes; "
            "largest state = the largest input or output of any state, compact JSON as Step Functions holds it; "
            "ratios per labourer against the first size, same process",
            "",
            render_table(SWEEP_HEADERS, sweep_rows(list(fleet))),
        ]
    if parts.bill:
        lines += render_bill(list(parts.bill))
    if cost:
        lines += render_cost(cost)
    if parts.throughput:
        lines += render_throughput(args, parts.throughput)
    if tracking:
        from benchmarks.tracking import CAP, FEELINGS, tracking_rows

        lines += [
            "",
            f"Target tracking: {args.tracking_minutes} simulated minutes, one labourer (cap {CAP}, tasks of 3-5 "
            "minutes, a deep queue) on the demo's database model (CPU = 20 + 7 x tasks in flight, noise +-2, read "
            "one period late); CPU = the database's true CPU of each minute. Feelings: the demo's thresholds "
            f"{FEELINGS} with '<='. Same seed for every row.",
            "",
            render_table(
                ["", "tasks completed", "worst CPU", "mean CPU", "completed/feelings", "worst CPU/feelings"],
                tracking_rows(tracking),
            ),
        ]
    lines += [
        "",
        "Notes",
        f"- {EMULATOR_NOTE}",
        "- Per-task calls: the conditional UpdateItem that claims a task and the labourer's Invoke (Event). "
        "Control plane: everything else (config, ecology, fetch, sosw's per-labourer lookups, Foreman's "
        "StartExecution and the Invokes of its Lambda steps).",
        "- sosw's optional sosw_tasks_meta audit rows are off (on, they add one PutItem per invoked task). "
        "Foreman's LoadConfig reads its SSM parameter every run here (ConfigCacheSeconds=0 locally; 60 s on AWS).",
        "- Foreman's StartExecution is counted (the harness makes it, as EventBridge Scheduler would); sosw's "
        "counterpart, EventBridge invoking its Lambda, happens outside sosw's code and is not.",
        "- Foreman's state transitions and history events are counted from the execution's history; sosw runs in "
        "one Lambda call and has neither.",
    ]
    return "\n".join(lines)


def document(
    args: argparse.Namespace,
    argv: Sequence[str],
    parts: Parts,
    *,
    started: datetime.datetime,
    seconds: float,
    load: Sequence[float] = (),
) -> dict[str, Any]:
    """Every figure as plain data, with what produced it."""
    from benchmarks.report import EMULATOR_NOTE, comparison_document

    comparison, points, overlap = parts.comparison, parts.points, parts.overlap
    cost, tracking, reads, fleet = parts.cost, parts.tracking, parts.reads, parts.fleet
    return {
        "benchmark": "Foreman vs sosw",
        "command": " ".join(["python -m benchmarks", *argv]),
        "started_at": started.isoformat(timespec="seconds"),
        "duration_seconds": round(seconds, 1),
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1min_at_start_and_end": list(load),
            **_versions(),
        },
        "notes": [EMULATOR_NOTE],
        "parts": list(args.parts),
        "comparison": None
        if comparison is None
        else {
            "labourers": args.labourers,
            "depth": args.depth,
            "cap": args.cap,
            "runs": args.runs,
            "sosw_cold_start_calls": comparison["sosw_cold_start"],
            **comparison_document(comparison["sosw"], comparison["foreman"]),
        },
        "depth_sweep": {
            "labourers": 1,
            "cap": args.cap,
            "runs": {str(point.depth): point.sosw.runs for point in points},
            "points": [point.figures() for point in points],
        },
        "overlap": None
        if overlap is None
        else {"without_lease": overlap[0].figures(), "with_lease": overlap[1].figures()},
        "cost": None
        if cost is None
        else {"runs": [run.figures() for run in cost["runs"]], "largest_child": cost["largest"]},
        "target_tracking": None if tracking is None else _tracking_document(args, tracking),
        "reads": [point.figures() for point in reads],
        "labourers": [point.figures() for point in fleet],
        "monthly_bill": [point.figures() for point in parts.bill],
        "throughput": None if parts.throughput is None else _throughput_document(args, parts.throughput),
    }


def _throughput_document(args: argparse.Namespace, throughput: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.throughput import throughput_document

    shape = dict(zip(("labourers", "cap", "queued_each"), args.throughput, strict=False))
    return {**shape, **throughput_document(throughput["runs"], throughput["sweep"])}


def _tracking_document(args: argparse.Namespace, tracking: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.tracking import tracking_figures

    return {"minutes": args.tracking_minutes, "runs": tracking_figures(tracking)}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the tables, write the JSON; 0 on success."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(arguments)
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)  # moto needs some credentials; nothing here talks to AWS
    from benchmarks.report import write_json

    started = datetime.datetime.now(tz=datetime.UTC)
    load = [_load_average()]
    began = time.perf_counter()
    # What the embedded stack's steps print (their EMF metric lines) stays off stdout, which carries the tables
    wanted = set(args.parts)
    with contextlib.redirect_stdout(io.StringIO()):
        comparison = None
        if "comparison" in wanted:
            _progress(
                f"comparison: {args.labourers} labourers x {args.depth:,} tasks, cap {args.cap}, {args.runs} run(s)"
            )
            comparison = run_comparison(args, _progress)
        points = []
        if args.depths and "sweep" in wanted:
            _progress(f"depth sweep: {', '.join(f'{d:,}' for d in args.depths)}, {_runs_text(args)} per depth")
            points = run_sweep(args, _progress)
        overlap = None
        if args.overlap_executions > 0 and "overlap" in wanted:
            _progress(f"overlap: {args.overlap_executions} staggered executions, without and with the lease")
            overlap = run_overlap_part(args, _progress)
        reads = []
        if args.reads_tasks > 0 and args.reads_payloads and "reads" in wanted:
            _progress(f"reads: {args.reads_tasks} tasks a run, payloads of {args.reads_payloads} bytes")
            reads = run_reads_part(args, _progress)
        fleet = []
        if args.fleet and "labourers" in wanted:
            from benchmarks.labourers import run_point

            _progress(f"labourers: one run at each of {', '.join(f'{n:,}' for n in args.fleet)} labourers")
            for count in args.fleet:
                fleet.append(run_point(count))
                _progress(f"labourers: {count:,}, largest state {fleet[-1].largest_state_bytes:,} bytes")
        bill = []
        if args.bill and "bill" in wanted:
            from benchmarks.bill import measure as measure_bill

            _progress(
                f"monthly bill: one minute at each of {', '.join(f'{n:,}' for n in args.bill)} labourers, each type"
            )
            for orchestrator_type in ("STANDARD", "EXPRESS"):
                for count in args.bill:
                    bill.append(measure_bill(orchestrator_type, count))
                    _progress(
                        f"monthly bill: {orchestrator_type} {count:,} labourers, idle ${bill[-1].idle_total:,.2f}"
                    )
        cost = None
        if args.cost_tasks and "cost" in wanted:
            _progress("cost: one run per workflow type and size")
            cost = run_cost_part(args, _progress)
        tracking = None
        if args.tracking_minutes > 0 and "tracking" in wanted:
            from benchmarks.tracking import run_tracking

            _progress(f"target tracking: {args.tracking_minutes} simulated minutes, feelings and three targets")
            tracking = run_tracking(args.tracking_minutes, progress=_progress)
        throughput = None
        if (args.throughput or args.sizes) and "throughput" in wanted:
            _progress(f"throughput: one run of {args.throughput} each, then sizes {args.sizes}")
            throughput = run_throughput_part(args, _progress)
    seconds = time.perf_counter() - began
    load.append(_load_average())
    parts = Parts(
        comparison,
        points,
        overlap,
        cost=cost,
        tracking=tracking,
        reads=reads,
        fleet=fleet,
        bill=bill,
        throughput=throughput,
    )
    print(render(args, parts))
    figures = document(args, arguments, parts, started=started, seconds=seconds, load=load)
    path = write_json(figures, args.output)
    print(
        f"\nFigures written to {path} (whole benchmark: {seconds:.0f} s; "
        f"1-minute load average {load[0]:.1f} at the start, {load[1]:.1f} at the end, on {os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
