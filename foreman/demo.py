"""``foreman local demo``: the real Orchestrator at work, in one command, with nothing but Python.

It starts the embedded stack (moto, in this process), deploys ``template.yaml``, registers the example labourers of
``examples/`` with ``examples/config.json`` and their tasks, then runs schedule ticks in accelerated time: each tick is
one simulated minute, and each runs a real execution of the Orchestrator state machine with that minute as its clock
(``{"now": ...}``). Between ticks the labourers' work goes on in simulated time: a task finishes its labourer's
``DEMO_MINUTES`` after it was invoked, and its completion is recorded then.

The ``reports`` labourer depends on a simulated database whose CPU rises with the number of reports running, and
its config maps that CPU to an eco status: the ecology throttles it (status drops, invocations shrink) and lets it
recover as reports finish, while ``thumbnails`` runs at full speed. ``invoices`` depends on a database of the same
kind and holds its CPU at a target instead (``target_tracking``). Each database publishes the CPU of the minute
that just ended: the tasks in flight after the previous tick's invocations, as a CloudWatch datapoint describes
the last period. Each tick prints a table; at the end the demo
draws a picture of the run (the state graph with the last execution's path and per-state counts, and per-labourer
charts over the ticks), checks that what should have happened did, and fails if not.
"""

from __future__ import annotations

import io
import random
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from foreman.examples import (
    Completer,
    CompletionRefusedError,
    SimulatedDatabase,
    completer_for,
    example_config,
    example_config_dict,
    example_tasks,
    labourer_arns,
    register_example_labourers,
    task_minutes,
    tracked_database,
)
from foreman.picture import HandOver, LabourerSeries, ResourceSeries, png_size, render_run_picture
from foreman.status import done_count
from foreman_core.config import STATUS_NAMES, OrchestratorConfig
from foreman_core.task_store import TaskStore

DEFAULT_TICKS = 15
DEFAULT_OUTPUT = Path("demo-output") / "foreman-demo.png"
DEFAULT_SEED = 7
TICK_SECONDS = 60


class DemoError(RuntimeError):
    """The demo could not run to the end (an execution failed, a step raised)."""


@dataclass
class DemoOptions:
    """What ``foreman local demo`` takes: how many ticks, where the picture goes, the seed of task durations."""

    ticks: int = DEFAULT_TICKS
    output: Path = DEFAULT_OUTPUT
    seed: int = DEFAULT_SEED


@dataclass(frozen=True)
class TickRow:
    """One labourer at one tick: the Orchestrator's report, and the queue after it."""

    labourer_id: str
    status: int
    running: int
    desired: int
    invoked: int
    queued: int
    done: int

    @property
    def status_text(self) -> str:
        return f"{self.status} {STATUS_NAMES.get(self.status, '?')}"


@dataclass(frozen=True)
class Tick:
    """One schedule tick: its simulated time, the resource's metric, the execution and each labourer's row."""

    number: int
    now: int
    metric: float
    execution_arn: str
    seconds: float
    rows: dict[str, TickRow]
    tracked_metric: float | None = None
    """The CPU of the target-tracking labourer's database (``None``: the config has none)."""
    tracking: dict[str, Any] | None = None
    """That labourer's controller step in the run's output (``target_tracking``)."""


@dataclass(frozen=True)
class Check:
    """Something the demo must show; ``ok`` says whether it did."""

    ok: bool
    text: str


@dataclass
class DemoResult:
    """The run: its ticks, the picture, the checks."""

    ticks: list[Tick]
    picture: Path
    picture_size: tuple[int, int]
    checks: list[Check]
    seconds: float
    handed_over: HandOver | None = None
    """The last run's Invocations execution, as the picture draws it (``None``: it had nothing to invoke)."""

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return all(check.ok for check in self.checks)

    def series(self, labourer_id: str, column: str) -> list[int]:
        """One column of one labourer's rows over the ticks (``status``, ``invoked``, ``running``...)."""
        return [int(getattr(tick.rows[labourer_id], column)) for tick in self.ticks]


@dataclass
class SimulatedClock:
    """The demo's clock: unix seconds, moved on by one simulated minute per tick."""

    now: float

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Work:
    """A task a labourer is working on: the event it got, its handler's result, when it is done (simulated)."""

    labourer_id: str
    event: dict[str, Any]
    result: Any
    done_at: float


@dataclass
class Workshop:
    """The example labourers' work in simulated time. A labourer's handler runs when it is invoked; its task is
    done its ``DEMO_MINUTES`` later (drawn per queue position, so a seed gives the same run every time)."""

    clock: SimulatedClock
    seed: int
    minutes: dict[str, tuple[int, int]] = field(default_factory=dict)
    in_progress: list[Work] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_result(self, labourer_id: str, event: dict[str, Any], result: Any) -> None:
        """An invoked labourer's handler returned: the task is done its simulated minutes from now."""
        rng = random.Random(f"{self.seed}:{labourer_id}:{event.get('greenfield')}")
        minutes = task_minutes(rng, self.minutes.get(labourer_id, (1, 1)))
        work = Work(labourer_id, dict(event), result, self.clock.now + minutes * TICK_SECONDS)
        with self._lock:
            self.in_progress.append(work)

    def due(self) -> list[Work]:
        """Take the tasks whose work is done by now."""
        with self._lock:
            done = [work for work in self.in_progress if work.done_at <= self.clock.now]
            self.in_progress = [work for work in self.in_progress if work.done_at > self.clock.now]
        return done


# ---------------------------------------------------------------------------------------------------------------------
# Output


class _Sink(io.TextIOBase):
    """A text stream that drops everything."""

    def write(self, text: str) -> int:
        return len(text)


@contextmanager
def step(out: TextIO, text: str) -> Iterator[None]:
    """Print ``text ...``, run the block, then how long it took (or that it failed)."""
    out.write(f"{text} ... ")
    out.flush()
    began = time.monotonic()
    try:
        yield
    except BaseException:
        out.write("failed\n")
        out.flush()
        raise
    out.write(f"done ({time.monotonic() - began:.1f} s)\n")
    out.flush()


def format_table(headers: list[str], rows: list[list[str]], *, indent: str = "", left: int = 1) -> str:
    """Aligned plain-text columns: the first ``left`` left-aligned, the others (numbers) right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        parts = [
            str(cell).ljust(width) if index < left else str(cell).rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return indent + "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])


STATUS_WIDTH = max(len(f"{status} {name}") for status, name in STATUS_NAMES.items())
"""Every tick's table has the same columns, whatever the statuses."""

TICK_HEADERS = ["labourer", "status", "running", "desired", "invoked", "queued", "done"]


def tick_table(tick: Tick) -> str:
    """The per-tick table: labourer, status, running, desired, invoked, queued, done."""
    rows = [
        [row.labourer_id, row.status_text.ljust(STATUS_WIDTH)]
        + [str(value) for value in (row.running, row.desired, row.invoked, row.queued, row.done)]
        for row in tick.rows.values()
    ]
    return format_table(TICK_HEADERS, rows, indent="  ", left=2)


def _clock_text(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%H:%M")


def _describe_scenario(
    config: OrchestratorConfig,
    database: SimulatedDatabase,
    workshop: Workshop,
    tracked: SimulatedDatabase | None = None,
) -> list[str]:
    lines = []
    for labourer in config.labourers:
        low, high = workshop.minutes.get(labourer.id, (1, 1))
        takes = f"{low} min" if low == high else f"{low}-{high} min"
        cap = labourer.max_simultaneous_invocations
        tracking = labourer.target_tracking
        if tracking is not None and tracked is not None and labourer.id == tracked.labourer_id:
            lines.append(f"  {labourer.id:<11} cap {cap}, a task takes {takes}, health = {tracked.name} CPU:")
            lines.append(
                f"  {'':<11} target tracking holds it near {tracking.target:g}: past it, only the whole tasks that fit "
                f"{tracking.direction.value} it"
            )
        elif labourer.health_metrics:
            metric = labourer.health_metrics[0]
            feelings = ", ".join(
                f"{metric.comparison.value} {threshold:g} {STATUS_NAMES[status]}"
                for status, threshold in metric.feelings
            )
            lines.append(f"  {labourer.id:<11} cap {cap}, a task takes {takes}, health = {database.name} CPU:")
            lines.append(f"  {'':<11} {feelings}, above that Bad")
        else:
            lines.append(
                f"  {labourer.id:<11} cap {cap}, a task takes {takes}, no health metrics: runs at its full cap"
            )
    for simulated in [database, *([tracked] if tracked is not None else [])]:
        lines.append(
            f"  {simulated.name:<11} simulated CPU = {simulated.base:g} + {simulated.per_task:g} x "
            f"(running {simulated.labourer_id}), published for the minute that just ended"
        )
    return lines


# ---------------------------------------------------------------------------------------------------------------------
# The demo


def run_demo(options: DemoOptions, out: TextIO) -> DemoResult:
    """Run the demo, printing as it goes; ``DemoError`` if it cannot run to the end."""
    if options.ticks < 1:
        raise ValueError("the demo needs at least one tick")
    from foreman.local.stack import EmbeddedStack

    began = time.monotonic()
    config = example_config()
    start = (int(time.time()) // TICK_SECONDS) * TICK_SECONDS - (options.ticks + 1) * TICK_SECONDS
    clock = SimulatedClock(float(start))
    workshop = Workshop(clock=clock, seed=options.seed)
    database = SimulatedDatabase.for_config(config)
    tracked = tracked_database(config)

    out.write(
        "Foreman demo: the Orchestrator state machine of template.yaml, run on an embedded AWS stack (moto)\n"
        f"in accelerated time: {options.ticks} schedule ticks of one simulated minute, each a real execution.\n\n"
    )
    with ExitStack() as exit_stack:
        # What the Lambda steps print (their logs, metrics in embedded metric format) goes to CloudWatch Logs on AWS;
        # here it would drown the tables, so it goes nowhere. The demo writes to ``out``, which it keeps.
        exit_stack.enter_context(redirect_stdout(_Sink()))
        with step(out, "[1/4] Starting the local AWS stack and deploying template.yaml"):
            stack = exit_stack.enter_context(
                EmbeddedStack(parameters={"LabourerArns": labourer_arns(config), "LogLevel": "WARNING"})
            )
        with step(out, "[2/4] Registering the example labourers and storing examples/config.json"):
            stack.put_config(example_config_dict())
            examples = register_example_labourers(config, stack.add_function, workshop.on_result)
            workshop.minutes = {labourer_id: example.demo_minutes for labourer_id, example in examples.items()}
            store = TaskStore(stack.client("dynamodb"), config.tables, clock=clock)
        tasks = {labourer.id: example_tasks(labourer.id) for labourer in config.labourers}
        counts = ", ".join(f"{len(payloads)} {labourer_id}" for labourer_id, payloads in tasks.items())
        with step(out, f"[3/4] Enqueuing tasks from examples/tasks/ ({counts})"):
            for labourer_id, payloads in tasks.items():
                store.create_tasks(labourer_id, payloads)
        complete, how = completer_for(stack.outputs, config, lambda_client=stack.client("lambda"), store=store)
        scavenger = "ScavengerArn" in stack.outputs
        completion = textwrap.wrap(
            f"when a task is done, {how}", 90, initial_indent="  completion  ", subsequent_indent=" " * 14
        )
        lines = ["", *_describe_scenario(config, database, workshop, tracked), *completion]
        if scavenger:
            lines.append("  each tick   completions, the Scavenger (archives completed tasks), then the Orchestrator")
        out.write("\n".join([*lines, "", f"[4/4] Running {options.ticks} ticks", ""]))
        run = _Run(stack, config, store, database, workshop, complete, scavenger=scavenger, tracked=tracked)
        ticks: list[Tick] = []
        for number in range(1, options.ticks + 1):
            clock.now = float(start + number * TICK_SECONDS)
            tick = run.tick(number)
            ticks.append(tick)
            out.write(
                f"\ntick {number}/{options.ticks}  {_clock_text(clock.now)} simulated  "
                f"{database.name} CPU {tick.metric:g}%{_tracked_text(tracked, tick)}  "
                f"execution {tick.seconds:.1f} s\n{tick_table(tick)}\n"
            )
            out.flush()
        out.write("\n")
        with step(out, f"Drawing the picture of the run to {options.output}"):
            definition = stack.deployment.state_machine_definitions["Orchestrator"]
            size = _draw(
                options,
                config=config,
                database=database,
                ticks=ticks,
                definition=definition,
                history=run.history,
                handed_over=run.handed_over,
                tracked=tracked,
            )
    checks = demo_checks(config, database, ticks, options.output, tracked=tracked)
    result = DemoResult(ticks, options.output, size, checks, time.monotonic() - began, run.handed_over)
    out.write("\nChecks\n")
    for check in checks:
        out.write(f"  {'ok  ' if check.ok else 'FAIL'}  {check.text}\n")
    out.write(
        f"\nPicture: {options.output} ({size[0]}x{size[1]} PNG): the Orchestrator's states with the last execution's\n"
        "path and per-state counts, and invocations and health per labourer over the ticks.\n"
        f"{'Done' if result.ok else 'FAILED'} in {result.seconds:.1f} s.\n"
    )
    return result


def _run_parts(stack: Any, execution: Any) -> tuple[list[dict[str, Any]], HandOver | None]:
    """A run as the picture draws it: its Orchestrator execution's history, and its Invocations execution's (with
    its children's) when it handed its tasks over (``Execution.parts``: the Orchestrator's, the Invocations', then
    each child's)."""
    if execution.invocations is None:
        return execution.history, None
    parts = list(execution.parts.values())
    definition = stack.deployment.state_machine_definitions["Invocations"]
    return parts[0], HandOver(definition=definition, history=parts[1], children=parts[2:])


@dataclass
class _Run:
    """What one tick does, on the embedded stack."""

    stack: Any
    config: OrchestratorConfig
    store: TaskStore
    database: SimulatedDatabase
    workshop: Workshop
    complete: Completer
    scavenger: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    """The last run's Orchestrator execution's own history events."""
    handed_over: HandOver | None = None
    """The last run's Invocations execution (its history and its children's), when it handed its tasks over."""
    tracked: SimulatedDatabase | None = None
    in_flight: dict[str, int] = field(default_factory=dict)
    """Each database's labourer's tasks in flight after the last tick's invocations: the load of the minute that
    follows, which the next tick's datapoint describes."""

    def tick(self, number: int) -> Tick:
        """Complete what is done, scavenge, put the database's CPU, run the Orchestrator at the simulated minute."""
        from foreman.local.stack import ExecutionFailedError

        now = int(self.workshop.clock.now)
        for work in self.workshop.due():
            try:
                self.complete(work.labourer_id, work.event, work.result)
            except CompletionRefusedError as error:
                raise DemoError(f"tick {number}: {error}") from error
        began = time.monotonic()
        try:
            if self.scavenger:
                self.stack.run({"now": now}, state_machine="ScavengerArn")
            cloudwatch = self.stack.client("cloudwatch")
            metric = self.database.publish(cloudwatch, self.in_flight.get(self.database.labourer_id, 0), at=now)
            tracked_metric = None
            if self.tracked is not None:
                load = self.in_flight.get(self.tracked.labourer_id, 0)
                tracked_metric = self.tracked.publish(cloudwatch, load, at=now)
            execution = self.stack.run({"now": now})
        except ExecutionFailedError as error:
            raise DemoError(f"tick {number}: an execution failed: {error}") from error
        self.history, self.handed_over = _run_parts(self.stack, execution)
        dynamodb = self.stack.client("dynamodb")
        rows = {
            labourer_id: TickRow(
                labourer_id=labourer_id,
                status=int(line["status"]),
                running=int(line.get("running", 0)),
                desired=int(line.get("desired", 0)),
                invoked=int(line.get("invoked", 0)),
                queued=self.store.queue_length(labourer_id, start=now),
                done=done_count(dynamodb, self.config, labourer_id, now=now),
            )
            for labourer_id, line in execution.output["labourers"].items()
        }
        self.in_flight = {row.labourer_id: row.running + row.invoked for row in rows.values()}
        tracking = None
        if self.tracked is not None:
            tracking = execution.output["labourers"].get(self.tracked.labourer_id, {}).get("target_tracking")
        return Tick(number, now, metric, execution.arn, time.monotonic() - began, rows, tracked_metric, tracking)


def _tracked_text(tracked: SimulatedDatabase | None, tick: Tick) -> str:
    """``"  invoices-db CPU 62% (invoices allowed 6: decrease)"`` for the tick's heading, or nothing."""
    if tracked is None or tick.tracked_metric is None:
        return ""
    step = ""
    if tick.tracking:
        step = f" ({tracked.labourer_id} allowed {tick.tracking['allowed']}: {tick.tracking['reason']})"
    return f"  {tracked.name} CPU {tick.tracked_metric:g}%{step}"


def _draw(
    options: DemoOptions,
    *,
    config: OrchestratorConfig,
    database: SimulatedDatabase,
    ticks: list[Tick],
    definition: dict[str, Any],
    history: list[dict[str, Any]],
    handed_over: HandOver | None = None,
    tracked: SimulatedDatabase | None = None,
) -> tuple[int, int]:
    numbers = [tick.number for tick in ticks]
    labourers = {
        labourer.id: LabourerSeries(
            cap=labourer.max_simultaneous_invocations,
            invoked=[tick.rows[labourer.id].invoked for tick in ticks],
            status=[tick.rows[labourer.id].status for tick in ticks],
            running=[tick.rows[labourer.id].running for tick in ticks],
            allowed=[_allowed(tick) for tick in ticks]
            if tracked is not None and labourer.id == tracked.labourer_id
            else None,
        )
        for labourer in config.labourers
    }
    resource = ResourceSeries(
        title=f"{database.name} {database.metric.query.metric_name} (%): the health of {database.labourer_id}",
        unit="%",
        values=[tick.metric for tick in ticks],
        feelings=database.thresholds(),
        lower_is_better=database.metric.comparison.lower_is_better,
    )
    resources = []
    if tracked is not None:
        tracking = config.labourer(tracked.labourer_id).target_tracking
        resources.append(
            ResourceSeries(
                title=f"{tracked.name} {tracked.metric.query.metric_name} (%): held at a target by "
                f"{tracked.labourer_id}",
                unit="%",
                values=[tick.tracked_metric or 0.0 for tick in ticks],
                feelings=[],
                target=tracking.target if tracking is not None else None,
            )
        )
    watching = {simulated.labourer_id: simulated.name for simulated in (database, tracked) if simulated is not None}
    summary = ", ".join(
        f"{labourer.id} cap {labourer.max_simultaneous_invocations}"
        + (
            f" {'tracking' if labourer.target_tracking else 'watching'} {watching[labourer.id]} CPU"
            if labourer.id in watching
            else " (no health metrics)"
        )
        for labourer in config.labourers
    )
    return render_run_picture(
        options.output,
        title=f"Foreman demo: {len(ticks)} schedule ticks in accelerated time on the embedded stack",
        subtitle=f"{summary}; {database.name} CPU = {database.base:g} + {database.per_task:g} x running "
        f"{database.labourer_id}. Last execution: tick {numbers[-1]}.",
        definition=definition,
        history=history,
        handed_over=handed_over,
        ticks=numbers,
        labourers=labourers,
        resource=resource,
        resources=resources,
        times=[_clock_text(tick.now) for tick in ticks],
    )


def _allowed(tick: Tick) -> float | None:
    """The target-tracking labourer's allowance in the tick's run (``None``: the run did not step it)."""
    value = (tick.tracking or {}).get("allowance", (tick.tracking or {}).get("allowed"))
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def throttle_check(config: OrchestratorConfig, throttled: str, ticks: list[Tick]) -> Check:
    """The watched labourer is throttled once its tasks drive its database's CPU up, and back at 4 High once the CPU
    is low again, as far as the ticks asked for go: the first tick starts its tasks, so two ticks show the throttle;
    a run that ends while the CPU is still high cannot show the recovery, and is not failed for it."""
    statuses = [tick.rows[throttled].status for tick in ticks]
    metric = config.labourer(throttled).health_metrics[0]
    high = dict(metric.feelings)[4]
    low = next((index for index, status in enumerate(statuses) if status < 4), None)
    back = next((i for i in range(low + 1, len(statuses)) if statuses[i] == 4), None) if low is not None else None
    if low is not None:
        worst = min(statuses[low : back if back is not None else len(statuses)])
        worst_at = statuses.index(worst, low)
        row = ticks[worst_at].rows[throttled]
        seen = (
            f"{throttled} was throttled ({row.status_text} at tick {ticks[worst_at].number}: "
            f"{ticks[worst_at].metric:g}% CPU, {row.invoked} invoked)"
        )
        if back is not None:
            return Check(True, f"{seen} and recovered (4 High at tick {ticks[back].number})")
        last = ticks[-1].metric
        if not metric.comparison.holds(last, high):  # still too busy for 4 High: recovery is still to come
            return Check(
                True,
                f"{seen}; the run ended with the CPU still at {last:g}% (4 High needs {metric.comparison.value} "
                f"{high:g}), before it could recover: the default {DEFAULT_TICKS} ticks show the recovery",
            )
        return Check(False, f"{throttled} should recover once the CPU is down ({last:g}%); its statuses: {statuses}")
    if len(ticks) == 1 and statuses[0] == 4:
        return Check(
            True,
            f"{throttled} started at 4 High ({ticks[0].metric:g}% CPU); one tick cannot show it throttled (its tasks "
            f"drive the CPU up from the second tick): the default {DEFAULT_TICKS} ticks show it",
        )
    return Check(False, f"{throttled} should be throttled and then recover; its statuses: {statuses}")


TRACKING_SETTLES = 8
"""From this tick on, the target-tracking labourer has climbed from its floor (the demo's: 1, 2, then up to 2 more
tasks a tick) and holds its database near the target."""

TRACKING_BAND = 5.0
"""How close to the target it must hold the CPU once settled (points)."""


def tracking_check(config: OrchestratorConfig, tracked: SimulatedDatabase, ticks: list[Tick]) -> Check:
    """The target-tracking labourer climbs to its target and holds its database's CPU within ``TRACKING_BAND``
    points of it while it has work, never more than 15 points above it."""
    labourer = config.labourer(tracked.labourer_id)
    target = labourer.target_tracking.target if labourer.target_tracking is not None else 0.0
    values = [tick.tracked_metric or 0.0 for tick in ticks]
    shown = ", ".join(f"{value:g}" for value in values)
    if max(values) > target + 15:
        return Check(False, f"{labourer.id} put {tracked.name} over 15 points above its target {target:g}: {shown}")
    if len(ticks) < TRACKING_SETTLES:
        return Check(
            True,
            f"{labourer.id} climbs toward its target {target:g} ({tracked.name} CPU {shown}); {len(ticks)} ticks "
            f"cannot show it held there: the default {DEFAULT_TICKS} ticks show it",
        )
    held = [
        tick.tracked_metric or 0.0
        for tick in ticks[TRACKING_SETTLES - 1 :]
        if tick.rows[labourer.id].queued > 0  # with its queue empty it has nothing left to hold the CPU with
    ]
    ok = all(abs(value - target) <= TRACKING_BAND for value in held)
    return Check(
        ok,
        f"{labourer.id} held {tracked.name} CPU within {TRACKING_BAND:g} points of its target {target:g} from tick "
        f"{TRACKING_SETTLES} on (CPU per tick: {shown})",
    )


def demo_checks(
    config: OrchestratorConfig,
    database: SimulatedDatabase,
    ticks: list[Tick],
    picture: Path,
    *,
    tracked: SimulatedDatabase | None = None,
) -> list[Check]:
    """What the run must show: the watched labourer throttled and recovered, the tracked one held at its target, the
    others at full speed, no cap ever exceeded, and a picture."""
    checks = [Check(True, f"every Orchestrator execution succeeded ({len(ticks)} of {len(ticks)})")]
    throttled = database.labourer_id
    checks.append(throttle_check(config, throttled, ticks))
    if tracked is not None:
        checks.append(tracking_check(config, tracked, ticks))
    for labourer in config.labourers:
        if labourer.id == throttled or (tracked is not None and labourer.id == tracked.labourer_id):
            continue
        cap = labourer.max_simultaneous_invocations
        rows = [tick.rows[labourer.id] for tick in ticks]
        full = all(
            row.status == 4
            and row.desired == cap - row.running
            and row.invoked == min(row.desired, row.queued + row.invoked)
            for row in rows
        )
        invoked = [row.invoked for row in rows]
        checks.append(
            Check(
                full,
                f"{labourer.id} stayed at 4 High and started all it could at every tick (invoked {invoked})",
            )
        )
    over = [
        f"{row.labourer_id} at tick {tick.number}"
        for tick in ticks
        for row in tick.rows.values()
        if row.running + row.invoked > config.labourer(row.labourer_id).max_simultaneous_invocations
    ]
    checks.append(
        Check(not over, "no labourer ever had more tasks running than its cap" + (f": {over}" if over else ""))
    )
    try:
        width, height = png_size(picture)
        checks.append(Check(True, f"the picture is a {width}x{height} PNG"))
    except (OSError, ValueError) as error:
        checks.append(Check(False, f"the picture: {error}"))
    return checks
