"""Feelings against target tracking on the demo's database model, on the embedded stack, in simulated minutes.

One labourer (cap 10, a deep queue) depends on a database whose CPU is ``base + k x in flight`` (the demo's
``SimulatedDatabase``: 20 + 7 x tasks), capped at 100. Each simulated minute: the tasks whose time is up complete,
the database publishes the CPU of the minute that just ended plus noise (so the Orchestrator reads it one period
late, as CloudWatch's datapoint describes the last period), then one real Orchestrator execution of
``template.yaml`` runs with that minute as its clock. The same seeded noise and task durations serve both modes:

- ``feelings``: the demo's config (``examples/config.json``: ``<= 40`` High, ``<= 60`` Good, ``<= 80`` Moderate,
  above that Bad) with sosw's coefficients;
- ``target``: the same metric without feelings, ``target_tracking`` at ``target`` (60 by default).

``simulate`` returns one ``Minute`` per execution: what the database carried (``cpu``: its true CPU over the minute
after the run's claims, without the noise), what was read, invoked, and completed. The tests
(``tests/statemachine/test_target_tracking.py``) and ``make bench`` both use it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from foreman.local.stack import EmbeddedStack
from foreman_core.config import Tables
from foreman_core.task_store import TaskStore

LABOURER = "tracked"
INSTANCE = "tracked-db"
CAP = 10
TICK = 60
FEELINGS = {"4": 40, "3": 60, "2": 80}
"""The demo's feelings for ``reports`` (``examples/config.json``)."""


@dataclass
class DatabaseModel:
    """The demo's simulated database: CPU = ``base + k x in flight``, capped at 100, read with ``noise`` (+-)."""

    base: float = 20.0
    k: float = 7.0
    noise: float = 2.0

    def cpu(self, in_flight: int) -> float:
        """The true CPU with ``in_flight`` tasks at work."""
        return min(100.0, self.base + self.k * in_flight)


@dataclass(frozen=True)
class Minute:
    """One simulated minute: the run's report for the labourer and what the database did."""

    number: int
    published: float | None
    cpu: float
    running: int
    desired: int
    invoked: int
    completed: int
    tracking: dict[str, Any] | None


@dataclass
class Scenario:
    """What happens to the database during the run: ``k_at`` sets ``k`` from a minute on (a step in capacity);
    in the ``silent`` minutes no datapoint is published."""

    model: DatabaseModel = field(default_factory=DatabaseModel)
    k_at: dict[int, float] = field(default_factory=dict)
    silent: set[int] = field(default_factory=set)


def labourer_config(arn: str, mode: str, *, target: float = 60.0, window: int = 3 * TICK) -> dict[str, Any]:
    """The labourer's config in ``mode`` (``feelings`` or ``target``), sosw's shape; ``window``: the metric's
    ``MetricAggregationTimeSlice``."""
    details = {
        "MetricName": "CPUUtilization",
        "Namespace": "AWS/RDS",
        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": INSTANCE}],
        "Period": TICK,
        "Statistics": ["Average"],
        "MetricAggregationTimeSlice": window,
    }
    labourer: dict[str, Any] = {"arn": arn, "max_simultaneous_invocations": CAP, "duration": 900, "cooldown": 60}
    if mode == "feelings":
        labourer["health_metrics"] = {
            "DBCPU": {"details": details, "feelings": FEELINGS, "feeling_comparison_operator": "<="}
        }
    elif mode == "target":
        labourer["health_metrics"] = {"DBCPU": {"details": details}}
        labourer["target_tracking"] = {"metric": "DBCPU", "target": target}
    else:
        raise ValueError(f"unknown mode {mode!r}: 'feelings' or 'target'")
    return labourer


def simulate(
    stack: EmbeddedStack,
    mode: str,
    *,
    minutes: int,
    scenario: Scenario | None = None,
    seed: int = 1,
    task_minutes: tuple[int, int] = (3, 5),
    tasks: int = 1000,
    start: int = 1_800_000_000,
    target: float = 60.0,
    window: int = 3 * TICK,
    progress: Callable[[Minute], None] | None = None,
) -> list[Minute]:
    """Run ``minutes`` simulated minutes of ``mode`` on ``stack`` (a fresh one per call: the queue and the
    controller's state are the stack's). Tasks take ``task_minutes`` (drawn per task from ``seed``)."""
    scenario = scenario or Scenario()
    model = DatabaseModel(scenario.model.base, scenario.model.k, scenario.model.noise)
    rng = random.Random(seed)
    durations = random.Random(f"{seed}:durations")
    invoked_at: dict[str, int] = {}

    def labourer(event: dict[str, Any], context: Any) -> dict[str, str]:
        invoked_at[event["task_id"]] = clock
        return {"ok": "yes"}

    start -= start % TICK
    clock = start
    arn = stack.add_function(LABOURER, labourer)
    stack.put_config(
        {"task_config": {"labourers": {LABOURER: labourer_config(arn, mode, target=target, window=window)}}}
    )
    store = TaskStore(stack.client("dynamodb"), Tables(), clock=lambda: clock)
    store.create_tasks(LABOURER, [{"n": n} for n in range(tasks)])
    cloudwatch = stack.client("cloudwatch")
    done_at: dict[str, int] = {}
    in_flight_last = 0
    result: list[Minute] = []
    for number in range(1, minutes + 1):
        clock = start + number * TICK
        model.k = scenario.k_at.get(number, model.k)
        completed = 0
        for task_id, due in list(done_at.items()):
            if due <= clock:
                store.mark_completed(task_id, labourer_id=LABOURER)
                del done_at[task_id]
                completed += 1
        noise = rng.uniform(-model.noise, model.noise)
        published = None
        if number not in scenario.silent:
            published = min(100.0, model.cpu(in_flight_last) + noise)
            cloudwatch.put_metric_data(
                Namespace="AWS/RDS",
                MetricData=[
                    {
                        "MetricName": "CPUUtilization",
                        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": INSTANCE}],
                        "Timestamp": datetime.fromtimestamp(clock - TICK // 2, tz=UTC),
                        "Value": published,
                    }
                ],
            )
        line = report(stack.run({"now": clock}).output)
        for task_id, at in list(invoked_at.items()):
            if at == clock and task_id not in done_at:
                done_at[task_id] = clock + TICK * durations.randint(*task_minutes)
        in_flight_last = len(done_at)
        minute = Minute(
            number=number,
            published=published,
            cpu=model.cpu(in_flight_last),
            running=int(line.get("running", 0)),
            desired=int(line.get("desired", 0)),
            invoked=int(line.get("invoked", 0)),
            completed=completed,
            tracking=line.get("target_tracking"),
        )
        result.append(minute)
        if progress is not None:
            progress(minute)
    return result


def report(output: dict[str, Any]) -> dict[str, Any]:
    """The labourer's line of an execution's output."""
    return dict(output["labourers"][LABOURER])


class Comparison:
    """What a run gives the comparison: tasks completed and the worst CPU."""

    @staticmethod
    def completed(run: list[Minute]) -> int:
        """Tasks completed over the run."""
        return sum(minute.completed for minute in run)

    @staticmethod
    def worst_cpu(run: list[Minute]) -> float:
        """The highest true CPU of any minute."""
        return max(minute.cpu for minute in run)


TARGETS = (60.0, 70.0, 80.0)
"""The targets ``make bench`` compares with feelings: the feelings' own Good bound (60), and two higher ones below
the feelings' worst (90)."""


def run_tracking(
    minutes: int, *, targets: tuple[float, ...] = TARGETS, seed: int = 1, progress: Callable[[str], None] | None = None
) -> dict[str, list[Minute]]:
    """Feelings and target tracking at each of ``targets``, each on a fresh embedded stack, same seed: the runs by
    mode (``feelings``, ``target 60``...)."""
    from foreman.local.deployer import ACCOUNT, REGION

    arns = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{LABOURER}"
    runs: dict[str, list[Minute]] = {}
    for mode, target in [("feelings", 0.0), *(("target", target) for target in targets)]:
        with EmbeddedStack(parameters={"LabourerArns": arns, "LogLevel": "ERROR"}) as stack:
            name = "feelings" if mode == "feelings" else f"target {target:g}"
            runs[name] = simulate(stack, mode, minutes=minutes, seed=seed, target=target)
        if progress is not None:
            run = runs[name]
            progress(
                f"tracking: {name}: {Comparison.completed(run)} completed, worst CPU {Comparison.worst_cpu(run):g}"
            )
    return runs


def tracking_rows(runs: dict[str, list[Minute]]) -> list[list[str]]:
    """One row per mode: tasks completed, worst CPU, mean CPU, and the ratios to feelings."""
    feelings = runs["feelings"]
    done, worst = Comparison.completed(feelings), Comparison.worst_cpu(feelings)
    rows = []
    for name, run in runs.items():
        completed, peak = Comparison.completed(run), Comparison.worst_cpu(run)
        mean = sum(minute.cpu for minute in run) / len(run)
        rows.append(
            [
                name,
                str(completed),
                f"{peak:g}",
                f"{mean:.1f}",
                f"{completed / done:.2f}x" if done else "-",
                f"{peak / worst:.2f}x",
            ]
        )
    return rows


def tracking_figures(runs: dict[str, list[Minute]]) -> dict[str, Any]:
    """Plain data for the JSON document."""
    feelings = runs["feelings"]
    return {
        name: {
            "completed": Comparison.completed(run),
            "worst_cpu": Comparison.worst_cpu(run),
            "mean_cpu": round(sum(minute.cpu for minute in run) / len(run), 1),
            "completed_ratio": round(Comparison.completed(run) / max(Comparison.completed(feelings), 1), 2),
            "worst_cpu_ratio": round(Comparison.worst_cpu(run) / Comparison.worst_cpu(feelings), 2),
        }
        for name, run in runs.items()
    }
