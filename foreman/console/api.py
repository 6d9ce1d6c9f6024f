"""What the local console shows, as JSON: read from the endpoint with the same AWS calls a person would make.

``ConsoleApi`` answers four questions, each one method and one URL of ``foreman.console.server``:

- ``executions()`` (``/api/executions``): the executions of every state machine (Orchestrator and Scavenger),
  newest first, with status, start, stop and duration.
- ``execution(arn)`` (``/api/execution?arn=``): one execution: its description, its state graph laid out from the
  ASL (``foreman.picture``'s layout, the one the demo's PNG uses) with how often each state was entered and the
  edges taken, each state's inputs and outputs from the history, and its output (the Orchestrator's per-labourer
  report).
- ``queues()`` (``/api/queues``): per labourer of the stored config, ``foreman status``'s counts and health.
- ``queue(labourer_id)`` (``/api/queues/<id>``): one labourer's counts and health, its oldest queued tasks, its
  expired and failed tasks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from foreman.picture import PlacedGraph, edge_lines, entered_counts, layout, parse_graph
from foreman.status import markers_at, status_report
from foreman_core.config import ConfigError, OrchestratorConfig, Tables, parse_config
from foreman_core.config_source import ConfigSourceError, load_raw_config
from foreman_core.task_store import Task, TaskStore

MAX_VISITS = 50
"""How many entries of one state (inputs and outputs) an execution's page carries; the count is always exact."""
OLDEST_TASKS = 20
"""How many tasks of each kind a queue page lists."""


class NotFoundError(LookupError):
    """What was asked for does not exist (an unknown execution or labourer)."""


def _time(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass
class ConsoleApi:
    """The console's data. ``client(service)`` gives boto3 clients on the endpoint; ``state_machines`` maps a name
    (``Orchestrator``) to its ARN; the config is read from ``config_location`` with the deployment's ``tables``."""

    client: Callable[[str], Any]
    state_machines: Mapping[str, str]
    config_location: str
    tables: Tables

    # -- executions ---------------------------------------------------------------------------------------------------

    def executions(self, limit: int = 100) -> dict[str, Any]:
        """Every state machine's latest ``limit`` executions, newest first."""
        sfn = self.client("stepfunctions")
        found = []
        for name, arn in self.state_machines.items():
            for item in sfn.list_executions(stateMachineArn=arn, maxResults=limit).get("executions", []):
                start, stop = _time(item.get("startDate")), _time(item.get("stopDate"))
                found.append(
                    {
                        "state_machine": name,
                        "arn": item["executionArn"],
                        "name": item["name"],
                        "status": item["status"],
                        "start": start,
                        "stop": stop,
                        "seconds": (stop - start) if start is not None and stop is not None else None,
                    }
                )
        found.sort(key=lambda e: e["start"] or 0, reverse=True)
        return {"now": time.time(), "executions": found[:limit]}

    def execution(self, arn: str) -> dict[str, Any]:
        """One execution: description, graph (path taken, counts), each state's inputs and outputs, output."""
        sfn = self.client("stepfunctions")
        try:
            described = sfn.describe_execution(executionArn=arn)
        except sfn.exceptions.ExecutionDoesNotExist:
            raise NotFoundError(f"no execution {arn}") from None
        machine_arn = described["stateMachineArn"]
        definition = json.loads(sfn.describe_state_machine(stateMachineArn=machine_arn)["definition"])
        history: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
            history.extend(page["events"])
        counts = entered_counts(history)
        start, stop = _time(described.get("startDate")), _time(described.get("stopDate"))
        name = next((key for key, value in self.state_machines.items() if value == machine_arn), machine_arn)
        return {
            "arn": arn,
            "name": described["name"],
            "state_machine": name,
            "status": described["status"],
            "start": start,
            "stop": stop,
            "seconds": (stop - start) if start is not None and stop is not None else None,
            "input": _json(described.get("input")),
            "output": _json(described.get("output")),
            "error": described.get("error"),
            "cause": described.get("cause"),
            "events": len(history),
            "graph": graph_json(definition, counts),
            "states": state_visits(history),
        }

    # -- queues -------------------------------------------------------------------------------------------------------

    def _config(self) -> OrchestratorConfig:
        raw = load_raw_config(self.config_location, session_or_clients=self.client)
        return parse_config(raw, tables=self.tables)

    def queues(self) -> dict[str, Any]:
        """Per labourer: queued, running, expired, completed, retry-waiting, closed and health now."""
        now = time.time()
        try:
            config = self._config()
        except (ConfigError, ConfigSourceError) as error:
            return {"now": now, "error": f"the config at {self.config_location}: {error}", "labourers": []}
        report = status_report(config, dynamodb=self.client("dynamodb"), cloudwatch=self.client("cloudwatch"), now=now)
        return {
            "now": now,
            "config_location": self.config_location,
            "labourers": [{**line.to_dict(), "health_text": line.health_text} for line in report],
        }

    def queue(self, labourer_id: str) -> dict[str, Any]:
        """One labourer: its counts and health, its oldest queued tasks, its expired and failed tasks."""
        now = time.time()
        try:
            config = self._config()
        except (ConfigError, ConfigSourceError) as error:
            raise NotFoundError(f"the config at {self.config_location}: {error}") from None
        if labourer_id not in {labourer.id for labourer in config.labourers}:
            raise NotFoundError(f"no labourer {labourer_id!r} in the config")
        dynamodb = self.client("dynamodb")
        (line,) = status_report(
            config, dynamodb=dynamodb, cloudwatch=self.client("cloudwatch"), now=now, labourer_ids=[labourer_id]
        )
        store = TaskStore.for_config(dynamodb, config)
        markers = markers_at(config, config.labourer(labourer_id), now)
        return {
            "now": now,
            "labourer": {**line.to_dict(), "health_text": line.health_text},
            "oldest_queued": [_task_json(t) for t in store.next_tasks(labourer_id, OLDEST_TASKS, start=markers.start)],
            "expired": [_task_json(t) for t in store.expired_tasks(labourer_id, markers, limit=OLDEST_TASKS)],
            "failed": [_task_json(t) for t in store.failed_tasks(labourer_id, markers, limit=OLDEST_TASKS)],
        }


def _task_json(task: Task) -> dict[str, Any]:
    keep = ("failed_at", "result_error_type", "result_error_message", "invoked_at")
    return {
        "task_id": task.task_id,
        "created_at": task.created_at,
        "attempts": task.attempts,
        "greenfield": task.greenfield,
        "payload": task.payload_text,
        **{key: task.attributes[key] for key in keep if key in task.attributes},
    }


def graph_json(definition: Mapping[str, Any], counts: Mapping[str, int]) -> dict[str, Any]:
    """The state graph laid out as the demo's picture lays it out: boxes (containers first, so they are drawn
    under their states) with how often each state was entered, and edges as lines with whether they were taken."""
    placed = layout(parse_graph(definition))
    boxes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []

    def collect(graph: PlacedGraph, depth: int) -> None:
        for box in graph.boxes.values():
            boxes.append(
                {
                    "name": box.node.name,
                    "type": box.node.type,
                    "x": box.x,
                    "y": box.y,
                    "w": box.w,
                    "h": box.h,
                    "count": counts.get(box.node.name, 0),
                    "container": bool(box.inner),
                    "depth": depth,
                }
            )
        for line in edge_lines(graph, counts):
            edges.append(
                {
                    "source": line.edge.source,
                    "target": line.edge.target,
                    "kind": line.edge.kind,
                    "taken": line.taken,
                    "start": list(line.start),
                    "end": list(line.end),
                }
            )
        for box in graph.boxes.values():
            for inner in box.inner:
                collect(inner, depth + 1)

    collect(placed, 0)
    return {"width": placed.w, "height": placed.h, "boxes": boxes, "edges": edges}


def state_visits(history: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per state name: how often it was entered and its first ``MAX_VISITS`` visits' input and output (an exit is
    matched to the earliest entry of the same state still open)."""
    states: dict[str, dict[str, Any]] = {}
    for event in history:
        kind = str(event.get("type", ""))
        if kind.endswith("StateEntered"):
            details = event["stateEnteredEventDetails"]
            state = states.setdefault(details["name"], {"entered": 0, "visits": []})
            state["entered"] += 1
            if len(state["visits"]) < MAX_VISITS:
                state["visits"].append({"input": _json(details.get("input")), "output": None, "open": True})
        elif kind.endswith("StateExited"):
            details = event["stateExitedEventDetails"]
            state = states.setdefault(details["name"], {"entered": 0, "visits": []})
            visit = next((v for v in state["visits"] if v["open"]), None)
            if visit is not None:
                visit["output"] = _json(details.get("output"))
                visit["open"] = False
    for state in states.values():
        for visit in state["visits"]:
            visit.pop("open")
    return states
