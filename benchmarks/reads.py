"""What a run reads, by the size of its tasks: the read units grow with the items' size, and so does the fetch's
memory, which keeps each task's payload text for its claim (bounded per run by ``run_limits.RUN_PAYLOAD_BYTES_MOST``).

For each payload size: a fresh embedded stack (whose DynamoDB charges reads as DynamoDB does,
``foreman.local.patches.consumed_read_capacity``),
one labourer whose cap takes the whole queue, ``tasks`` queued tasks with
payloads of that size. First the fetch's peak memory, measured with ``tracemalloc`` in this process on the same
queue: the budget read into one list (how FetchGreenfieldTasks read it before, ``TaskStore.next_tasks``) against
FetchGreenfieldTasks as shipped (``run.fetch_greenfield_tasks``: pages of at most ``FETCH_PAGE``, each task let go
once checked but its claim item, payload text included). Then one Orchestrator run, and the read units it reports
(``read_units`` of its output).
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import asdict, dataclass
from typing import Any

LABOURER = "reads-labourer"


@dataclass(frozen=True)
class ReadsPoint:
    """One payload size: the run's read units by step, and the fetch's peak memory both ways."""

    payload_bytes: int
    tasks: int
    compute_ecology_units: float
    fetch_units: float
    total_units: float
    whole_list_peak_bytes: int
    paged_peak_bytes: int

    @property
    def memory_ratio(self) -> float:
        """Paged over whole list: the share of the old fetch's peak memory the shipped fetch needs."""
        return self.paged_peak_bytes / self.whole_list_peak_bytes

    def figures(self) -> dict[str, Any]:
        return {**asdict(self), "paged_over_whole_list": round(self.memory_ratio, 3)}


def fetch_peaks(store: Any, tasks: int) -> tuple[int, int]:
    """Peak traced memory (bytes) of reading ``tasks`` queued tasks of ``LABOURER`` into one list, then of
    FetchGreenfieldTasks taking them."""
    from foreman_core.config import Tables, parse_config
    from foreman_core.run import fetch_greenfield_tasks, load_config

    now = time.time() + 1
    raw = {
        "task_config": {"labourers": {LABOURER: {"arn": "arn:bench", "max_simultaneous_invocations": tasks}}},
        "max_tasks_per_execution": tasks,
    }
    config = parse_config(raw, orchestrator_type="EXPRESS")
    state = {
        **load_config(config, now=now, execution="bench", deployment=Tables()),
        "report": {LABOURER: {"status": 4, "desired": tasks}},
    }
    tracemalloc.start()
    try:
        everything = store.next_tasks(LABOURER, tasks, start=int(now))
        whole = tracemalloc.get_traced_memory()[1]
        if len(everything) != tasks:
            raise RuntimeError(f"read {len(everything)} of {tasks} tasks")
        del everything
        tracemalloc.reset_peak()
        fetched = fetch_greenfield_tasks(state, config, store=store)
        paged = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    taken = sum(len(entry["tasks"]) for entry in fetched["invocations"])
    if taken != tasks:
        raise RuntimeError(f"the fetch took {taken} of {tasks} tasks: {fetched['report']}")
    return whole, paged


def measure_reads(payload_bytes: int, tasks: int) -> ReadsPoint:
    """The fetch's memory and one run's read units for ``tasks`` tasks of ``payload_bytes`` of payload each."""
    from foreman.local.stack import EmbeddedStack
    from foreman_core.config import Tables
    from foreman_core.task_store import TaskStore

    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{LABOURER}"
    with EmbeddedStack(parameters={"LabourerArns": arn, "LogLevel": "ERROR"}) as stack:
        stack.add_function(LABOURER, lambda event, context: {"ok": True})
        labourers = {LABOURER: {"arn": arn, "max_simultaneous_invocations": tasks}}
        stack.put_config({"task_config": {"labourers": labourers}, "max_tasks_per_execution": tasks})
        store = TaskStore(stack.client("dynamodb"), Tables())
        store.create_tasks(LABOURER, [{"blob": "x" * payload_bytes} for _ in range(tasks)])
        whole, paged = fetch_peaks(store, tasks)
        output = stack.run().output
        (line,) = output["labourers"].values()
        if line.get("invoked", 0) != tasks:
            raise RuntimeError(f"the run invoked {line.get('invoked', 0)} of {tasks} tasks: {line}")
        units = output["read_units"]
        return ReadsPoint(
            payload_bytes=payload_bytes,
            tasks=tasks,
            compute_ecology_units=units["ComputeEcology"],
            fetch_units=units["FetchGreenfieldTasks"],
            total_units=units["total"],
            whole_list_peak_bytes=whole,
            paged_peak_bytes=paged,
        )


READS_HEADERS = [
    "payload",
    "tasks/run",
    "RCU ComputeEcology",
    "RCU FetchGreenfieldTasks",
    "RCU per run",
    "RCU per task",
    "fetch memory: one list",
    "paged (shipped)",
    "paged/one list",
]


def reads_rows(points: list[ReadsPoint]) -> list[list[str]]:
    """One row per payload size."""
    return [
        [
            f"{point.payload_bytes / 1000:,.0f} KB",
            f"{point.tasks:,}",
            f"{point.compute_ecology_units:g}",
            f"{point.fetch_units:g}",
            f"{point.total_units:g}",
            f"{point.total_units / point.tasks:.2f}",
            f"{point.whole_list_peak_bytes / 1e6:,.1f} MB",
            f"{point.paged_peak_bytes / 1e6:,.1f} MB",
            f"{point.memory_ratio:.2f}",
        ]
        for point in points
    ]
