"""The example labourers of ``examples/``, ready to run on a local stack (the demo and ``foreman local serve``).

``examples/config.json`` is the orchestrator config; ``examples/labourers/<id>.py`` are the labourers' Lambda
handlers; ``examples/tasks/<id>.jsonl`` are task payloads. ``SimulatedDatabase`` plays the RDS instance the
``reports`` labourer watches: its ``CPUUtilization`` rises with the number of reports running.

Completion: the example labourers have no Foreman code, as on AWS where a labourer's completion can be recorded
from its asynchronous-invocation destination. Locally, ``ExampleLabourer`` runs the handler and passes its result to
an ``on_result`` callback, which records the completion at once (``foreman local serve``) or after the task's
simulated duration (the demo).
"""

from __future__ import annotations

import importlib.util
import json
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from foreman.local.stack import PROJECT_ROOT
from foreman_core.config import HealthMetric, OrchestratorConfig, parse_config
from foreman_core.task_store import TaskStore

EXAMPLES_DIR = Path(PROJECT_ROOT) / "examples"
CONFIG_PATH = EXAMPLES_DIR / "config.json"
TASKS_DIR = EXAMPLES_DIR / "tasks"
LABOURERS_DIR = EXAMPLES_DIR / "labourers"

Handler = Callable[[Any, Any], Any]
ResultCallback = Callable[[str, dict[str, Any], Any], None]
"""``on_result(labourer_id, event, result)``: called after a labourer's handler returned ``result`` for ``event``."""


def example_config_dict() -> dict[str, Any]:
    """``examples/config.json`` as a dict."""
    config: dict[str, Any] = json.loads(CONFIG_PATH.read_text(encoding="utf-8"))
    return config


def example_config() -> OrchestratorConfig:
    """``examples/config.json``, parsed and validated."""
    return parse_config(example_config_dict())


def labourer_arns(config: OrchestratorConfig) -> str:
    """The labourers' ARNs, comma-separated, as the template's ``LabourerArns`` parameter takes them."""
    return ",".join(labourer.arn for labourer in config.labourers)


def function_name(arn: str) -> str:
    """The function name in a Lambda function ARN (or the name itself)."""
    return arn.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in arn else arn


_modules: dict[str, ModuleType] = {}
_modules_lock = threading.Lock()


def labourer_module(labourer_id: str) -> ModuleType:
    """``examples/labourers/<labourer_id>.py``, imported once."""
    with _modules_lock:
        if labourer_id not in _modules:
            path = LABOURERS_DIR / f"{labourer_id}.py"
            spec = importlib.util.spec_from_file_location(f"foreman_example_{labourer_id}", path)
            if spec is None or spec.loader is None or not path.is_file():
                raise FileNotFoundError(f"no example labourer {labourer_id!r} ({path})")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _modules[labourer_id] = module
        return _modules[labourer_id]


def example_tasks(labourer_id: str) -> list[dict[str, Any]]:
    """The payloads of ``examples/tasks/<labourer_id>.jsonl``."""
    from foreman.task_input import parse_json_lines

    path = TASKS_DIR / f"{labourer_id}.jsonl"
    return parse_json_lines(path.read_text(encoding="utf-8"), source=str(path.relative_to(PROJECT_ROOT)))


@dataclass
class ExampleLabourer:
    """A Lambda handler running an example labourer, then handing its result to ``on_result``."""

    labourer_id: str
    on_result: ResultCallback

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        handler: Handler = labourer_module(self.labourer_id).handler
        result = handler(event, context)
        self.on_result(self.labourer_id, event, result)
        return result

    @property
    def demo_minutes(self) -> tuple[int, int]:
        """The lowest and highest number of simulated minutes one task takes in the demo."""
        low, high = getattr(labourer_module(self.labourer_id), "DEMO_MINUTES", (1, 1))
        return int(low), int(high)


def register_example_labourers(
    config: OrchestratorConfig, add_function: Callable[[str, Handler], str], on_result: ResultCallback
) -> dict[str, ExampleLabourer]:
    """Create a local Lambda function for each labourer of ``config`` (named as in its ARN) that runs its example
    handler; ``add_function(name, handler)`` creates one and returns its ARN."""
    labourers = {}
    for labourer in config.labourers:
        example = ExampleLabourer(labourer.id, on_result)
        add_function(function_name(labourer.arn), example)
        labourers[labourer.id] = example
    return labourers


@dataclass
class SimulatedDatabase:
    """The RDS instance the ``reports`` labourer depends on: CPU = ``base + per_task * running``, capped at 100 %.

    ``metric`` is the labourer's health metric (from the config), so the datapoints go exactly where the Orchestrator
    reads them.
    """

    metric: HealthMetric
    labourer_id: str = "reports"
    base: float = 20.0
    per_task: float = 7.0
    history: list[tuple[float, float]] = field(default_factory=list)

    @classmethod
    def for_config(cls, config: OrchestratorConfig, labourer_id: str = "reports", **kwargs: Any) -> SimulatedDatabase:
        """The database behind ``labourer_id``'s first health metric."""
        labourer = config.labourer(labourer_id)
        if not labourer.health_metrics:
            raise ValueError(f"labourer {labourer_id!r} has no health metric to simulate")
        return cls(metric=labourer.health_metrics[0], labourer_id=labourer_id, **kwargs)

    @property
    def name(self) -> str:
        """The instance's name (its first dimension's value)."""
        dimensions = self.metric.query.dimensions
        return dimensions[0][1] if dimensions else self.metric.query.metric_name

    def cpu(self, running: int) -> float:
        """The CPU with ``running`` tasks of the labourer at work."""
        return min(100.0, self.base + self.per_task * running)

    def publish(self, cloudwatch: Any, running: int, *, at: float) -> float:
        """Put the CPU for ``running`` tasks as a datapoint one second before ``at`` (inside the metric's window)."""
        value = self.cpu(running)
        query = self.metric.query
        cloudwatch.put_metric_data(
            Namespace=query.namespace,
            MetricData=[
                {
                    "MetricName": query.metric_name,
                    "Dimensions": [{"Name": key, "Value": text} for key, text in query.dimensions],
                    "Timestamp": datetime.fromtimestamp(at - 1, tz=UTC),
                    "Value": value,
                }
            ],
        )
        self.history.append((at, value))
        return value

    def thresholds(self) -> list[tuple[int, float]]:
        """The metric's ``(status, threshold)`` feelings, best status first."""
        return list(self.metric.feelings)


def tracked_database(config: OrchestratorConfig) -> SimulatedDatabase | None:
    """The simulated database of the first labourer with target tracking (``None``: none has it)."""
    for labourer in config.labourers:
        if labourer.target_tracking is not None and labourer.tracked_metric() is not None:
            return SimulatedDatabase.for_config(config, labourer.id)
    return None


class CompletionRefusedError(RuntimeError):
    """A completion was not recorded (refused as late or unknown, or the completion function failed)."""


Completer = Callable[[str, dict[str, Any], Any], None]
"""``complete(labourer_id, event, result)``: record that the labourer finished the task it got as ``event``."""


def destination_record(function_arn: str, event: Mapping[str, Any], result: Any) -> dict[str, Any]:
    """The record Lambda sends to an asynchronously invoked function's ``OnSuccess`` destination, in AWS's shape."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "Success",
            "approximateInvokeCount": 1,
        },
        "requestPayload": dict(event),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": result,
    }


@dataclass
class DestinationCompleter:
    """Completes through the stack's ``TaskDestination`` function: sends it the ``OnSuccess`` record Lambda would
    send for the labourer's invocation (the path that needs no code in the labourer)."""

    lambda_client: Any
    destination_arn: str
    function_arns: Mapping[str, str]

    def __call__(self, labourer_id: str, event: dict[str, Any], result: Any) -> None:
        record = destination_record(self.function_arns[labourer_id], event, result)
        response = self.lambda_client.invoke(FunctionName=self.destination_arn, Payload=json.dumps(record).encode())
        body = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError") or not isinstance(body, dict) or not body.get("accepted"):
            raise CompletionRefusedError(f"TaskDestination did not complete task {event.get('task_id')}: {body}")


@dataclass
class StoreCompleter:
    """Completes on the tasks table directly, as sosw's WorkerAssistant does (``completed_at``, ``result_<k>``)."""

    store: TaskStore

    def __call__(self, labourer_id: str, event: dict[str, Any], result: Any) -> None:
        fields = {k: v for k, v in result.items() if k != "task_id"} if isinstance(result, dict) else None
        outcome = self.store.mark_completed(
            str(event["task_id"]), result=fields, attempt=int(event.get("attempts", 0)) + 1, labourer_id=labourer_id
        )
        if not outcome.accepted:
            raise CompletionRefusedError(f"task {event.get('task_id')} not completed: {outcome.reason}")


def completer_for(
    outputs: Mapping[str, Any], config: OrchestratorConfig, *, lambda_client: Any, store: TaskStore
) -> tuple[Completer, str]:
    """The real completion path if the stack has it (``TaskDestinationFunctionArn``), else the tasks table; and a
    description of it."""
    destination = outputs.get("TaskDestinationFunctionArn")
    if destination:
        arns = {labourer.id: labourer.arn for labourer in config.labourers}
        return (
            DestinationCompleter(lambda_client, str(destination), arns),
            "its OnSuccess destination record goes to the stack's TaskDestination function "
            "(the labourers have no Foreman code)",
        )
    return StoreCompleter(store), "completed_at on the tasks table, as sosw's WorkerAssistant writes it"


def task_minutes(rng: random.Random, minutes: tuple[int, int]) -> int:
    """How many simulated minutes one task takes: uniform between the labourer's lowest and highest."""
    low, high = minutes
    return rng.randint(low, max(low, high))
