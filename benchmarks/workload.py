"""The workload both orchestrators run on: the stack, the labourers, the queues, and one run of each orchestrator.

``Bench`` deploys Foreman on the embedded stack (``EmbeddedStack``: moto in-process, the real template and state
machine, the real handlers), registers K fake labourers on its Lambda runtime (so an invoke costs the same whoever
makes it), queues M tasks per labourer with Foreman's batch create (sosw-format items, identical for both; sosw's
own ``create_task`` reads the queue for every task, far too slow for deep queues), and builds sosw 0.7.51's
Orchestrator in-process on the same moto. Both get the same labourers with the same cap and no health metrics
(status 4, full capacity).

Between runs the queue is put back exactly as created: a run claims the oldest tasks of each labourer (greenfield
and attempts change, nothing else), and ``Queues.restore`` writes those tasks' original items back, so every run of
either orchestrator starts from identical data without re-reading or re-creating the queue.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from types import SimpleNamespace
from typing import Any

import boto3

from benchmarks.meter import ApiMeter, CallLog, mark_harness
from benchmarks.report import FOREMAN, SOSW, RunSample
from foreman.local.deployer import ACCOUNT, REGION
from foreman.local.patches.express_workflows import backend_execution
from foreman.local.stack import EmbeddedStack, Execution
from foreman_core.config import Tables
from foreman_core.task_store import Item, TaskStore

TABLES = Tables()
POLL_SECONDS = 0.01
"""How often the harness asks whether a Foreman execution has ended (adds at most this much to its wall time)."""

CREATE_CHUNK = 25_000
"""Tasks created per ``create_tasks`` call when filling a queue: few calls (each reads the queue's newest position,
which moto answers by sorting the whole queue) while bounding the memory a deep queue needs."""

SOSW_FUNCTION_NAME = "sosw_orchestrator"


def labourer_ids(count: int, prefix: str = "bench-labourer") -> list[str]:
    """``count`` labourer (Lambda function) names: ``bench-labourer-1``, ``bench-labourer-2``..."""
    return [f"{prefix}-{number}" for number in range(1, count + 1)]


def labourer_arn(name: str) -> str:
    """The ARN moto gives the function ``name``."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def task_payload(number: int) -> dict[str, Any]:
    """A task's payload: small, of a realistic shape (about 80 bytes of JSON)."""
    return {"job": "nightly-report", "customer": f"customer-{number % 1000:05d}", "n": number}


class CountingLabourer:
    """A labourer Lambda that only records the ``task_id`` of every event it gets (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._task_ids: list[str] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, bool]:
        with self._lock:
            self._task_ids.append(str(event.get("task_id")))
        return {"ok": True}

    @property
    def count(self) -> int:
        """How many invocations arrived so far."""
        with self._lock:
            return len(self._task_ids)

    def task_ids_since(self, mark: int) -> list[str]:
        """The task ids of the invocations after the first ``mark``."""
        with self._lock:
            return self._task_ids[mark:]


class Queues:
    """Each labourer's queue: filled with Foreman's batch create, put back after every run.

    ``head`` original items of each queue (the oldest tasks, the only ones a run with a cap of ``head`` or less can
    claim) are kept to restore them.
    """

    def __init__(self, client: Any, head: int) -> None:
        self._client = client
        self._store = TaskStore(client, TABLES)
        self._head_size = head
        self.depth: dict[str, int] = {}
        self._originals: dict[str, Item] = {}

    def fill(self, labourer_id: str, depth: int) -> int:
        """Queue tasks at the end of the labourer's queue until it holds ``depth``; how many were created."""
        created = 0
        while self.depth.get(labourer_id, 0) < depth:
            have = self.depth.get(labourer_id, 0)
            count = min(depth - have, CREATE_CHUNK)
            tasks = self._store.create_tasks(labourer_id, [task_payload(have + i) for i in range(count)])
            for task in tasks[: max(self._head_size - have, 0)]:
                self._originals[task.task_id] = task.to_item()
            self.depth[labourer_id] = have + count
            created += count
        return created

    def restore(self, task_ids: Sequence[str]) -> int:
        """Put the claimed tasks ``task_ids`` back as they were created (queued, attempts 0); how many.

        ``LookupError`` if a task is not among the kept oldest ones (the run took a task it should not have).
        """
        unknown = [task_id for task_id in task_ids if task_id not in self._originals]
        if unknown:
            raise LookupError(f"{len(unknown)} invoked task(s) are not at the head of their queue: {unknown[:3]}")
        requests = [{"PutRequest": {"Item": self._originals[task_id]}} for task_id in dict.fromkeys(task_ids)]
        for begin in range(0, len(requests), 25):
            pending: dict[str, Any] = {TABLES.tasks: requests[begin : begin + 25]}
            while pending:
                pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        return len(requests)


class Bench:
    """K labourers, their queues and both orchestrators, on one embedded stack. Use as a context manager.

    ``cap`` is every labourer's ``max_simultaneous_invocations``. ``sosw_cold_start`` holds the API calls sosw's
    Orchestrator makes while it is constructed (once per Lambda container, outside any run).
    """

    def __init__(self, labourers: Sequence[str], cap: int, *, orchestrator_type: str = "STANDARD") -> None:
        self.labourers = list(labourers)
        self.cap = cap
        self.orchestrator_type = orchestrator_type
        self.meter = ApiMeter(task_functions=self.labourers, tasks_table=TABLES.tasks)
        self.fakes = {name: CountingLabourer() for name in self.labourers}
        self.sosw_cold_start = CallLog()
        self._exit = ExitStack()
        self._sosw: Any = None
        self.last_execution: Execution | None = None
        self._sosw_log_levels: list[tuple[Any, int]] = []
        self.stack: EmbeddedStack
        self.queues: Queues

    def __enter__(self) -> Bench:
        os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # sosw logs every decision at INFO
        arns = ",".join(labourer_arn(name) for name in self.labourers)
        try:
            self.stack = self._exit.enter_context(
                EmbeddedStack(
                    parameters={"LabourerArns": arns, "LogLevel": "WARNING", "OrchestratorType": self.orchestrator_type}
                )
            )
            for service in ("dynamodb", "stepfunctions", "ssm", "lambda"):
                mark_harness(self.stack.client(service))
            for name, fake in self.fakes.items():
                self.stack.add_function(name, fake)
            self.stack.put_config({"task_config": {"labourers": self._labourer_config()}})
            self.queues = Queues(self.stack.client("dynamodb"), head=self.cap)
            self._starter = boto3.client("stepfunctions", region_name=REGION)  # its StartExecution counts
            self._sosw = self._build_sosw()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()
        _sosw_lambda_context(None)
        _restore_levels(self._sosw_log_levels)

    def _labourer_config(self) -> dict[str, Any]:
        return {name: {"arn": labourer_arn(name), "max_simultaneous_invocations": self.cap} for name in self.labourers}

    def _build_sosw(self) -> Any:
        """sosw's Orchestrator as its Lambda would build it on a cold start, with the same labourers."""
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = SOSW_FUNCTION_NAME
        _sosw_lambda_context(
            SimpleNamespace(
                function_name=SOSW_FUNCTION_NAME,
                aws_request_id=str(uuid.uuid4()),
                log_stream_name="2024/01/01/[$LATEST]benchmark",
                invoked_function_arn=labourer_arn(SOSW_FUNCTION_NAME),
            )
        )
        import sosw.orchestrator

        self._sosw_log_levels = _quiet_sosw()
        config = {
            "task_config": {"labourers": self._labourer_config()},
            # sosw's optional audit rows (sosw_tasks_meta, +1 PutItem per invoked task) are off: Foreman has none.
            "meta_handler_config": {"write_meta_to_ddb": False},
        }
        with self.meter.measure() as log:
            orchestrator = sosw.orchestrator.Orchestrator(custom_config=config)
        self.sosw_cold_start = log
        return orchestrator

    # -- data -------------------------------------------------------------------------------------------------------

    def fill(self, depth: int) -> int:
        """Queue tasks until every labourer has ``depth``; how many were created."""
        return sum(self.queues.fill(name, depth) for name in self.labourers)

    def _invoked_marks(self) -> dict[str, int]:
        return {name: fake.count for name, fake in self.fakes.items()}

    def _invoked_since(self, marks: dict[str, int]) -> list[str]:
        return [task_id for name, fake in self.fakes.items() for task_id in fake.task_ids_since(marks[name])]

    def query_seconds(self, labourer_id: str) -> float:
        """The emulator's time for one ``Limit = 1`` Query on the labourer's queue (the harness's, not counted): the
        floor moto puts under every Query at this depth, which a Query on DynamoDB does not have."""
        began = time.perf_counter()
        self.stack.client("dynamodb").query(
            TableName=TABLES.tasks,
            IndexName=TABLES.greenfield_index,
            KeyConditionExpression="labourer_id = :labourer",
            ExpressionAttributeValues={":labourer": {"S": labourer_id}},
            Limit=1,
        )
        return time.perf_counter() - began

    # -- runs -------------------------------------------------------------------------------------------------------

    def run(self, orchestrator: str) -> RunSample:
        """One measured run of ``orchestrator`` (``SOSW`` or ``FOREMAN``); the queue is restored afterwards."""
        runner: Callable[[], RunSample] = {SOSW: self._run_sosw, FOREMAN: self._run_foreman}[orchestrator]
        # Foreman's steps print their metrics as EMF lines on stdout (Lambda ships them to CloudWatch Logs): keep the
        # benchmark's stdout for its tables.
        with contextlib.redirect_stdout(io.StringIO()):
            return runner()

    def _run_sosw(self) -> RunSample:
        marks = self._invoked_marks()
        with self.meter.measure() as log:
            began = time.perf_counter()
            self._sosw({})
            seconds = time.perf_counter() - began
        self._sosw.reset_stats()  # what sosw's Lambda handler does after every call
        invoked = self._invoked_since(marks)
        self.queues.restore(invoked)
        return RunSample.from_log(SOSW, log, labourers=len(self.labourers), seconds=seconds, invoked=len(invoked))

    def _run_foreman(self) -> RunSample:
        marks = self._invoked_marks()
        machine = self.stack.outputs["OrchestratorArn"]
        sfn = self.stack.client("stepfunctions")  # the harness's: its polling is not counted
        with self.meter.measure() as log:
            began = time.perf_counter()
            arn = self._starter.start_execution(stateMachineArn=machine, input=json.dumps({}))["executionArn"]
            # the run ends when its Invocations execution (if it handed its tasks to one) ends
            output = self._await_end(sfn, arn)
            handed = output.get("invocations") if isinstance(output, dict) else None
            if isinstance(handed, str) and ":execution:" in handed:
                self._await_end(sfn, handed)
            seconds = time.perf_counter() - began
        execution = self.stack.wait(arn)  # raises unless SUCCEEDED; reads the histories (not counted)
        self.last_execution = execution
        invoked = self._invoked_since(marks)
        if execution.output["totals"].get("invoked") != len(invoked):
            raise RuntimeError(f"Foreman reported {execution.output['totals']} but {len(invoked)} invokes arrived")
        self.queues.restore(invoked)
        return RunSample.from_log(
            FOREMAN,
            log,
            labourers=len(self.labourers),
            seconds=seconds,
            invoked=len(invoked),
            state_transitions=execution.state_transitions(),
            history_events=execution.events,
        )

    def _await_end(self, sfn: Any, arn: str) -> Any:
        """Poll an execution (Standard: DescribeExecution; Express, which has none: moto's record, as the log would
        tell) until it ends; its output, parsed (None unless it succeeded)."""
        while True:
            if self.stack.is_express(arn):
                record = backend_execution(arn)
                status, output = record.status, record.output
            else:
                answer = sfn.describe_execution(executionArn=arn)
                status, output = answer["status"], answer.get("output")
            if status != "RUNNING":
                break
            time.sleep(POLL_SECONDS)
        if status != "SUCCEEDED" or output is None:
            return None
        return json.loads(output) if isinstance(output, str) else output

    def samples(self, runs: int, *, progress: Callable[[str], None] | None = None) -> dict[str, list[RunSample]]:
        """``runs`` measured runs of each orchestrator, alternating (sosw, Foreman, sosw, ...) so that neither gets a
        systematically warmer or colder process; the queue is restored after every run."""
        collected: dict[str, list[RunSample]] = {SOSW: [], FOREMAN: []}
        for number in range(1, runs + 1):
            for name in (SOSW, FOREMAN):
                sample = self.run(name)
                collected[name].append(sample)
                if progress:
                    progress(
                        f"{name} run {number}/{runs}: {sample.invoked} invoked, "
                        f"{sum(sample.calls.values())} calls, {sample.seconds:.2f} s"
                    )
        return collected

    def warm_up(self) -> None:
        """One unmeasured run of each (Foreman's first execution imports its handlers: a Lambda cold start)."""
        for name in (SOSW, FOREMAN):
            self.run(name)


def _sosw_lambda_context(context: Any) -> None:
    """sosw reads its Lambda context (function name, request id, log stream) from ``sosw.app.global_vars``."""
    from sosw import app as sosw_app

    sosw_app.global_vars.lambda_context = context


def _quiet_sosw() -> list[tuple[Any, int]]:
    """sosw logs its whole config and every decision at INFO, and warns (on every cold start) that Glue and the
    ``config`` table have nothing for it: keep the benchmark's screen for the tables. Errors still show.

    Returns what to give ``_restore_levels`` to undo it."""
    root = logging.getLogger()
    saved: list[tuple[Any, int]] = []
    for name, module in list(sys.modules.items()):
        logger = getattr(module, "logger", None) if name.startswith("sosw") else None
        if logger is None or logger is root or not hasattr(logger, "setLevel"):
            continue
        level = getattr(logger, "log_level", getattr(logger, "level", logging.NOTSET))
        saved.append((logger, int(level)))
        logger.setLevel(logging.ERROR)
    return saved


def _restore_levels(saved: list[tuple[Any, int]]) -> None:
    for logger, level in reversed(saved):
        logger.setLevel(level)
