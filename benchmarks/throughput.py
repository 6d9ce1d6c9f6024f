"""The throughput part of ``make bench`` (issue 21): how many tasks one run invokes, and what grows with them.

Since issue 21 a run no longer claims and invokes inside the Orchestrator execution: FetchGreenfieldTasks writes the
run's tasks to S3 in groups (at most 1,000 tasks of one labourer each), StartInvocations starts the run's Invocations
execution (Standard), whose Distributed Map runs one Express child execution per group. Two measurements:

- *One run*: ``labourers`` labourers, each with ``depth`` tasks queued and a cap of ``cap``, healthy (no health
  metrics: status 4); one run of Foreman on each shape (``OrchestratorType`` STANDARD and EXPRESS, each on its own
  embedded stack built by ``benchmarks.workload.Bench``) and one of sosw 0.7.51's Orchestrator on the same stack and
  data as the Standard one. The goal is ``labourers x cap`` tasks for each (every cap filled, in one run). For each:
  the tasks invoked, the emulator's wall time (Foreman's from StartExecution to the end of its Invocations
  execution) and its ratio to sosw's, the run-wide executions' history events (the Orchestrator's and the
  Invocations execution's, ``Execution.parts``), the largest state in those two histories, and the children.
- *Size sweep*: one Foreman run (Standard) at each size, ``SWEEP_LABOURERS`` labourers with a cap of a tenth of the
  size each, on a fresh stack: the run-wide executions' events and largest state stay flat while the children (and
  their events) grow with the tasks.

Before each measured Foreman run, one unmeasured run with every cap at 1 imports the handlers (a Lambda cold start).
Wall time is the emulator's (moto in-process, on this machine), not AWS's: read only the ratios, never latency.

The emulator's pace. One Python process claims and invokes about 20 tasks a second here (every child shares it), where
AWS runs up to 1,000 children at once; a run of 5,000 tasks outlasts the Invocations execution's ``TimeoutSeconds``
(240 s), an Express child's 5 minutes and the claim window (600 s on the embedded stack). So on the stacks of this
part only, ``stretch_limits`` raises all three (``EMULATOR_SECONDS``), and every other figure is the shipped
template's; the runs still prove that one run invokes every task the caps allow, and what grows with them.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.report import FOREMAN, SOSW
from foreman.local.distributed_map import express_child_limit
from foreman.local.stack import EmbeddedStack, Execution

SWEEP_LABOURERS = 10
SHAPES = ("STANDARD", "EXPRESS")
EMULATOR_SECONDS = 3_600
"""The Invocations execution's ``TimeoutSeconds`` and the claim window on this part's stacks (see the module)."""


def stretch_limits(stack: EmbeddedStack, seconds: int = EMULATOR_SECONDS) -> None:
    """Let a run last ``seconds`` on the emulator: the Invocations execution's ``TimeoutSeconds`` and LoadConfig's
    claim window (``CLAIM_WINDOW_SECONDS``), updated through the API as a deployment would. (An Express child's
    longest duration is the emulator's: ``express_child_limit`` around the stack.)"""
    import json

    sfn = stack.client("stepfunctions")
    definition = dict(stack.deployment.state_machine_definitions["Invocations"])
    definition["TimeoutSeconds"] = seconds
    sfn.update_state_machine(stateMachineArn=stack.outputs["InvocationsArn"], definition=json.dumps(definition))
    lambda_ = stack.client("lambda")
    name = stack.deployment.physical["LoadConfigFunction"]
    variables = lambda_.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    lambda_.update_function_configuration(
        FunctionName=name, Environment={"Variables": {**variables, "CLAIM_WINDOW_SECONDS": str(seconds - 120)}}
    )


@dataclass(frozen=True)
class RunWide:
    """The run-wide executions of one Foreman run (the Orchestrator's and its Invocations execution's) and its
    children: history events of each, the largest state of the two run-wide ones (compact JSON, as Step Functions
    holds it), the children and all their events."""

    orchestrator_events: int
    invocations_events: int
    largest_state_bytes: int
    children: int
    child_events: int

    @property
    def run_wide_events(self) -> int:
        """The Orchestrator's and the Invocations execution's history events together."""
        return self.orchestrator_events + self.invocations_events


def run_wide(execution: Execution) -> RunWide:
    """``execution`` (as ``EmbeddedStack.wait`` follows a run) split into its run-wide part and its children."""
    if not execution.parts:  # nothing to invoke: the Orchestrator alone
        own = execution.history
        return RunWide(len(own), 0, _largest_state(own), 0, 0)
    orchestrator = execution.parts[execution.arn]
    invocations = execution.parts.get(execution.invocations or "", [])
    children = [
        history for arn, history in execution.parts.items() if arn not in (execution.arn, execution.invocations)
    ]
    return RunWide(
        orchestrator_events=len(orchestrator),
        invocations_events=len(invocations),
        largest_state_bytes=max(_largest_state(orchestrator), _largest_state(invocations)),
        children=len(children),
        child_events=sum(len(history) for history in children),
    )


def _largest_state(history: list[dict[str, Any]]) -> int:
    return Execution("", "", None, history, 0.0).largest_state_bytes(compact=True)


@dataclass(frozen=True)
class ThroughputRun:
    """One orchestrator's run of the throughput workload (``shape``: Foreman's OrchestratorType, ``-`` for sosw)."""

    orchestrator: str
    shape: str
    queued: int
    goal: int
    invoked: int
    seconds: float
    wide: RunWide | None = None

    @property
    def label(self) -> str:
        return self.orchestrator if self.orchestrator == SOSW else f"{self.orchestrator} {self.shape}"

    def figures(self) -> dict[str, Any]:
        """Plain data for the JSON document."""
        data = asdict(self)
        data["seconds"] = round(self.seconds, 2)
        if self.wide is not None:
            data["wide"]["run_wide_events"] = self.wide.run_wide_events
        return data


def _config(labourers: Sequence[str], cap: int) -> dict[str, Any]:
    from benchmarks.workload import labourer_arn

    return {"task_config": {"labourers": {
        name: {"arn": labourer_arn(name), "max_simultaneous_invocations": cap} for name in labourers}}}  # fmt: skip


def _warm_foreman(bench: Any) -> None:
    """One unmeasured Foreman run with every cap at 1 (imports the handlers), then the caps put back."""
    bench.stack.put_config(_config(bench.labourers, 1))
    bench.run(FOREMAN)
    bench.stack.put_config(_config(bench.labourers, bench.cap))


def run_throughput(
    labourers: int, cap: int, depth: int, *, progress: Callable[[str], None] | None = None
) -> list[ThroughputRun]:
    """sosw's run and Foreman's on each shape, of ``labourers`` x ``depth`` queued tasks with a cap of ``cap``."""
    from benchmarks.workload import Bench, labourer_ids

    names = labourer_ids(labourers, prefix="tput")
    goal = labourers * min(cap, depth)
    runs: list[ThroughputRun] = []
    for shape in SHAPES:
        with express_child_limit(EMULATOR_SECONDS), Bench(names, cap=cap, orchestrator_type=shape) as bench:
            stretch_limits(bench.stack)
            began = time.perf_counter()
            bench.fill(depth)
            if progress:
                progress(f"throughput {shape}: queued {labourers} x {depth:,} in {time.perf_counter() - began:.1f} s")
            if shape == "STANDARD":
                sample = bench.run(SOSW)
                runs.append(ThroughputRun(SOSW, "-", labourers * depth, goal, sample.invoked, sample.seconds))
                if progress:
                    progress(f"throughput: sosw invoked {sample.invoked:,} in {sample.seconds:.1f} s")
            _warm_foreman(bench)
            sample = bench.run(FOREMAN)
            assert bench.last_execution is not None
            wide = run_wide(bench.last_execution)
            runs.append(ThroughputRun(FOREMAN, shape, labourers * depth, goal, sample.invoked, sample.seconds, wide))
            if progress:
                progress(
                    f"throughput: Foreman {shape} invoked {sample.invoked:,} in {sample.seconds:.1f} s, "
                    f"{wide.children} children"
                )
    short = [run.label for run in runs if run.invoked != goal]
    if short:
        raise RuntimeError(f"one run of {', '.join(short)} invoked fewer than the {goal:,} tasks the caps allow")
    return runs


@dataclass(frozen=True)
class SweepRun:
    """One Foreman run of the size sweep."""

    tasks: int
    labourers: int
    cap: int
    invoked: int
    seconds: float
    wide: RunWide

    def figures(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 2)
        data["wide"]["run_wide_events"] = self.wide.run_wide_events
        return data


SWEEP_WAIT_SECONDS = 7_200
"""How long the sweep waits for one run (a run of 20,000 tasks takes over 20 minutes of emulator time on a shared
2-CPU machine; ``EmbeddedStack.wait``'s default is 600 s)."""


def sweep_point(tasks: int, *, labourers: int = SWEEP_LABOURERS, orchestrator_type: str = "STANDARD") -> SweepRun:
    """One Foreman run of ``tasks`` tasks (``labourers`` labourers, ``tasks / labourers`` each, as the cap) on a
    fresh embedded stack."""
    from benchmarks.workload import CountingLabourer, labourer_arn, labourer_ids
    from foreman_core.config import Tables
    from foreman_core.task_store import TaskStore

    names = labourer_ids(labourers, prefix="size")
    warm = "size-warm"
    cap = max(tasks // labourers, 1)
    arns = ",".join(labourer_arn(name) for name in [*names, warm])
    parameters = {"LabourerArns": arns, "LogLevel": "ERROR", "OrchestratorType": orchestrator_type}
    fakes = {name: CountingLabourer() for name in names}
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet, express_child_limit(EMULATOR_SECONDS), EmbeddedStack(parameters=parameters) as stack:
        stretch_limits(stack)
        for name, fake in fakes.items():
            stack.add_function(name, fake)
        stack.add_function(warm, CountingLabourer())
        store = TaskStore(stack.client("dynamodb"), Tables())
        stack.put_config(_config([warm], 1))
        store.create_tasks(warm, [{"warm": True}])
        stack.run()  # unmeasured, a labourer of its own: imports the handlers (a Lambda cold start)
        marks = {name: fake.count for name, fake in fakes.items()}
        stack.put_config(_config(names, cap))
        for name in names:
            store.create_tasks(name, [{"n": n} for n in range(cap)])
        began = time.perf_counter()
        execution = stack.wait(stack.start(), timeout=SWEEP_WAIT_SECONDS)
        seconds = time.perf_counter() - began
    invoked = sum(fake.count - marks[name] for name, fake in fakes.items())
    if invoked != cap * labourers:
        raise RuntimeError(f"the run invoked {invoked:,} of {cap * labourers:,} tasks: {execution.output['totals']}")
    return SweepRun(tasks=cap * labourers, labourers=labourers, cap=cap, invoked=invoked, seconds=seconds,
                    wide=run_wide(execution))  # fmt: skip


def throughput_rows(runs: Sequence[ThroughputRun]) -> list[list[str]]:
    """One row per orchestrator (and shape); wall time against sosw's, measured in the same process."""
    base = next((run for run in runs if run.orchestrator == SOSW), runs[0])
    rows = []
    for run in runs:
        wide = run.wide
        rows.append(
            [
                run.label,
                f"{run.queued:,}",
                f"{run.goal:,}",
                f"{run.invoked:,}",
                f"{run.seconds:.1f}",
                f"{run.seconds / base.seconds:.2f}",
                f"{run.invoked / run.seconds:,.0f}" if run.seconds else "-",
                "-" if wide is None else f"{wide.orchestrator_events} + {wide.invocations_events}",
                "-" if wide is None else f"{wide.largest_state_bytes:,}",
                "-" if wide is None else f"{wide.children}",
            ]
        )
    return rows


THROUGHPUT_HEADERS = [
    "",
    "queued",
    "goal",
    "invoked",
    "s (emulator)",
    "s vs sosw",
    "tasks/s (emulator)",
    "run-wide events (Orch. + Inv.)",
    "largest run-wide state, B",
    "children",
]


def sweep_rows(points: Sequence[SweepRun]) -> list[list[str]]:
    """One row per size; the run-wide figures against the smallest size's, measured in the same process."""
    base = points[0]
    rows = []
    for point in points:
        wide = point.wide
        rows.append(
            [
                f"{point.tasks:,}",
                f"{point.labourers} x {point.cap:,}",
                f"{point.invoked:,}",
                f"{wide.orchestrator_events}",
                f"{wide.invocations_events}",
                f"{wide.largest_state_bytes:,}",
                f"{wide.children}",
                f"{wide.child_events:,}",
                f"{wide.run_wide_events / base.wide.run_wide_events:.2f}",
                f"{wide.largest_state_bytes / base.wide.largest_state_bytes:.2f}",
                f"{point.seconds:.1f}",
            ]
        )
    return rows


SWEEP_HEADERS = [
    "tasks",
    "labourers x cap",
    "invoked",
    "Orchestrator events",
    "Invocations events",
    "largest run-wide state, B",
    "children",
    "child events",
    "run-wide events vs first",
    "state vs first",
    "s (emulator)",
]


def throughput_document(runs: Sequence[ThroughputRun], sweep: Sequence[SweepRun]) -> Mapping[str, Any]:
    """The part's figures as plain data."""
    return {"runs": [run.figures() for run in runs], "sweep": [point.figures() for point in sweep]}
