"""What the local console shows, as JSON: read from the endpoint with the same AWS calls a person would make.

``ConsoleApi`` answers each question of the page with one method, one URL of ``foreman.console.server``:

- ``executions()`` (``/api/executions``): the executions of every state machine (Orchestrator and Scavenger), newest
  first, a page at a time (``next_token``), filtered by state machine and status, with how many there are and what
  each run did (``foreman.console.executions``).
- ``execution(arn)`` (``/api/execution?arn=``): one execution: its description and input, its state graph laid out
  from the ASL (``foreman.picture``'s layout, the one the demo's PNG uses) with how often each state was entered,
  how it ended (succeeded, caught, failed) and the edges taken (``foreman.history``), each state's visits, what
  failed with its error, its Map iterations, its Map Runs when the endpoint has any, and its output.
- ``events(arn)`` (``/api/execution/events?arn=``): the execution's history events, a page at a time.
- ``scope(arn, scope)`` (``/api/execution/scope?arn=&scope=``): the visits of one Map iteration (``0``: the top level)
  and the iterations started in it, to walk down a run: one labourer's iteration, then one task's.
- ``queues()`` (``/api/queues``): per labourer of the stored config, ``foreman status``'s counts and health.
- ``queue(labourer_id)`` (``/api/queues/<id>``): one labourer's counts and health and its tasks of every kind
  (``foreman.console.tasks``).
- ``task(task_id)`` (``/api/task?id=``): where a task is and why.

An unknown execution, labourer or route is ``NotFoundError`` (a 404).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from foreman.console.executions import ExecutionIndex
from foreman.console.tasks import TaskLists, find_task
from foreman.history import History, Visit, read_history, taken_edges, timestamp, traceback_text
from foreman.picture import PlacedGraph, edge_lines, graph_edges, layout, parse_graph
from foreman.status import status_report
from foreman_core.config import STATUS_NAMES, ConfigError, OrchestratorConfig, Tables, parse_config
from foreman_core.config_source import ConfigSourceError, load_raw_config

MAX_VISITS = 50
"""How many entries of one state (inputs and outputs) an execution's page carries; the count is always exact."""
MAX_PROBLEMS = 50
"""How many failed or caught visits an execution's page lists."""
SCOPE_VISITS = 200
"""How many visits one scope (a Map iteration) lists."""
EVENTS_PAGE = 200
"""History events per page."""
OLDEST_TASKS = 20
"""How many tasks of each kind a queue page lists."""
KEPT_HISTORIES = 16
"""Ended executions whose history is kept read (an ended execution never changes)."""


class NotFoundError(LookupError):
    """What was asked for does not exist (an unknown execution, labourer or route)."""


@dataclass
class _Read:
    described: dict[str, Any]
    definition: dict[str, Any]
    history: History
    history_note: str | None = None
    """Why the history is empty when the endpoint gave none (an Express execution's is in its log on AWS)."""


@dataclass
class ConsoleApi:
    """The console's data. ``client(service)`` gives boto3 clients on the endpoint; ``state_machines`` maps a name
    (``Orchestrator``) to its ARN; the config is read from ``config_location`` with the deployment's ``tables``."""

    client: Callable[[str], Any]
    state_machines: Mapping[str, str]
    config_location: str
    tables: Tables
    express_history: Callable[[str], list[dict[str, Any]] | None] | None = None
    """An Express execution's history events (``GetExecutionHistory`` refuses one: on AWS it is in the state machine's
    log group at level ALL); ``foreman local serve`` reads the embedded stack's record. ``None``: the page says so."""
    _index: ExecutionIndex | None = None
    _histories: OrderedDict[str, _Read] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- executions ---------------------------------------------------------------------------------------------------

    def executions(
        self,
        *,
        state_machine: str | None = None,
        status: str | None = None,
        next_token: str | None = None,
        limit: int = 50,
    ) -> dict[str, Any]:
        """A page of every state machine's executions, newest first (see ``ExecutionIndex.page``)."""
        if self._index is None:
            self._index = ExecutionIndex(self.client, self.state_machines)
        page = self._index.page(
            state_machine=state_machine or None, status=status or None, next_token=next_token, limit=limit
        )
        return {"now": time.time(), "state_machines": list(self.state_machines), **page}

    def _read(self, arn: str) -> _Read:
        """An execution described, its definition and its history read; kept once it has ended."""
        with self._lock:
            kept = self._histories.get(arn)
            if kept is not None:
                self._histories.move_to_end(arn)
                return kept
        sfn = self.client("stepfunctions")
        try:
            described = sfn.describe_execution(executionArn=arn)
        except (sfn.exceptions.ExecutionDoesNotExist, sfn.exceptions.InvalidArn):
            raise NotFoundError(f"no execution {arn}") from None
        definition = self._definition(arn, described)
        events: list[dict[str, Any]] = []
        note = None
        try:
            for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
                events.extend(page["events"])
        except sfn.exceptions.InvalidArn:  # an Express execution: its history is its log
            logged = self.express_history(arn) if self.express_history is not None else None
            if logged is None:
                note = EXPRESS_NO_HISTORY
            events = logged or []
        read = _Read(described, definition, read_history(events), note)
        if described.get("status") != "RUNNING":
            with self._lock:
                self._histories[arn] = read
                while len(self._histories) > KEPT_HISTORIES:
                    self._histories.popitem(last=False)
        return read

    def _definition(self, arn: str, described: Mapping[str, Any]) -> dict[str, Any]:
        """The definition the execution ran: a Map Run's child runs its Distributed Map's ItemProcessor (read from the
        parent execution's definition); any other, its state machine's, as it was when the execution started."""
        sfn = self.client("stepfunctions")
        map_run = described.get("mapRunArn")
        if map_run:
            parent = str(sfn.describe_map_run(mapRunArn=map_run)["executionArn"])
            return processor_definition(self._read(parent).definition, str(map_run))
        try:
            text = sfn.describe_state_machine_for_execution(executionArn=arn)["definition"]
        except Exception:  # an endpoint without it: the state machine's current definition
            text = sfn.describe_state_machine(stateMachineArn=described["stateMachineArn"])["definition"]
        found: dict[str, Any] = json.loads(text)
        return found

    def _link(self, arn: str) -> dict[str, Any]:
        """Another execution this one names (the one that started it, the one that carries its run on, the parent
        of a Map Run): its ARN, name, state machine, status and output (``None`` when it cannot be described)."""
        link: dict[str, Any] = {"arn": arn, "name": arn.rsplit(":", 1)[-1], "state_machine": None, "status": None,
                                "output": None}  # fmt: skip
        try:
            described = self.client("stepfunctions").describe_execution(executionArn=arn)
        except Exception:
            return link
        machine_arn = str(described.get("stateMachineArn", ""))
        link.update(
            name=described.get("name") or link["name"],
            state_machine=self._machine_name(machine_arn),
            status=described.get("status"),
            output=_json(described.get("output")),
        )
        return link

    def _machine_name(self, machine_arn: str) -> str:
        """The console's name of a state machine (``Invocations``); a Map Run child's (``<machine>/<label>``) is its
        parent machine's, marked as a child."""
        for key, value in self.state_machines.items():
            if machine_arn == value:
                return key
            if machine_arn.startswith(value + "/"):
                return f"{key} child"
        return machine_arn

    def execution(self, arn: str) -> dict[str, Any]:
        """One execution: description, input, graph (path taken, counts, what failed), each state's visits, what
        failed, its Map iterations and Map Runs, and its output."""
        read = self._read(arn)
        described, history = read.described, read.history
        machine_arn = described["stateMachineArn"]
        start, stop = timestamp(described.get("startDate")), timestamp(described.get("stopDate"))
        name = self._machine_name(machine_arn)
        execution_input, output = _json(described.get("input")), _json(described.get("output"))
        started_by = execution_input.get(STARTED_BY) if isinstance(execution_input, Mapping) else None
        handed_to = output.get("invocations") if isinstance(output, Mapping) else None
        parent = None
        if described.get("mapRunArn"):
            try:
                parent = str(self.client("stepfunctions").describe_map_run(mapRunArn=described["mapRunArn"])[
                    "executionArn"])  # fmt: skip
            except Exception:
                parent = None
        problems = [visit for visit in history.visits if visit.status in ("failed", "caught")]
        status = str(described["status"])
        return {
            "arn": arn,
            "name": described["name"],
            "state_machine": name,
            "state_machine_arn": machine_arn,
            "map_run": described.get("mapRunArn"),
            "status": status,
            "start": start,
            "stop": stop,
            "seconds": (stop - start) if start is not None and stop is not None else None,
            "input": execution_input,
            "output": output,
            "started_by": self._link(started_by) if isinstance(started_by, str) and started_by else None,
            "carried_on_by": self._link(handed_to)
            if isinstance(handed_to, str) and _execution_arn(handed_to)
            else None,
            "parent": self._link(parent) if parent else None,
            "history_note": read.history_note,
            "no_output": _no_output(status, described.get("error")),
            "error": described.get("error"),
            "cause": _json(described.get("cause")),
            "traceback": traceback_text(described.get("cause")),
            "events": len(history.events),
            "graph": graph_json(read.definition, history),
            "states": state_visits(history),
            "problems": [_visit_json(visit, history) for visit in problems[:MAX_PROBLEMS]],
            "problems_total": len(problems),
            "iterations": _children_json(history, 0),
            "map_runs": self._map_runs(arn),
            "status_names": {str(key): value for key, value in STATUS_NAMES.items()},
        }

    def events(self, arn: str, *, next_token: str | None = None, limit: int = EVENTS_PAGE) -> dict[str, Any]:
        """A page of the execution's history events (``next_token``: where the last page ended; history only ever
        grows, so a token stays good)."""
        read = self._read(arn)
        offset = _offset(next_token)
        events = read.history.events
        start = events[0].time if events else timestamp(read.described.get("startDate"))
        page = events[offset : offset + limit]
        end = offset + len(page)
        return {
            "total": len(events),
            "events": [row.to_dict(start) for row in page],
            "next_token": str(end) if end < len(events) else None,
        }

    def scope(self, arn: str, scope: int) -> dict[str, Any]:
        """The visits of one Map iteration (``0``: the execution's top level) and the iterations started in it."""
        history = self._read(arn).history
        iteration = history.iterations.get(scope)
        if scope and iteration is None:
            raise NotFoundError(f"no Map iteration {scope} in {arn}")
        visits = history.in_scope(scope)
        path: list[dict[str, Any]] = []
        parent = iteration
        while parent is not None:
            path.insert(0, parent.to_dict())
            parent = history.iterations.get(parent.parent)
        return {
            "scope": scope,
            "iteration": iteration.to_dict() if iteration is not None else None,
            "path": path,
            "input": iteration.input if iteration is not None else None,
            "visits": [_visit_json(visit, history) for visit in visits[:SCOPE_VISITS]],
            "visits_total": len(visits),
            "iterations": _children_json(history, scope),
        }

    def _map_runs(self, arn: str) -> list[dict[str, Any]] | None:
        """The execution's Map Runs (a Distributed Map's), each with its child executions; ``None`` when the endpoint
        cannot list them."""
        sfn = self.client("stepfunctions")
        try:
            runs = sfn.list_map_runs(executionArn=arn, maxResults=100).get("mapRuns", [])
        except Exception:  # an endpoint without Map Runs: the page leaves the section out
            return None
        found = []
        for run in runs:
            run_arn = run["mapRunArn"]
            entry: dict[str, Any] = {"arn": run_arn, "start": timestamp(run.get("startDate")),
                                     "stop": timestamp(run.get("stopDate"))}  # fmt: skip
            try:
                described = sfn.describe_map_run(mapRunArn=run_arn)
                entry.update(status=described.get("status"), items=described.get("itemCounts"),
                             executions=described.get("executionCounts"),
                             max_concurrency=described.get("maxConcurrency"))  # fmt: skip
            except Exception:
                entry["status"] = None
            try:
                children = sfn.list_executions(mapRunArn=run_arn, maxResults=100).get("executions", [])
            except Exception:
                children = []
            entry["children"] = [
                {
                    "arn": child["executionArn"],
                    "name": child.get("name"),
                    "status": child.get("status"),
                    "start": timestamp(child.get("startDate")),
                    "stop": timestamp(child.get("stopDate")),
                }
                for child in children
            ]
            found.append(entry)
        return found

    # -- queues -------------------------------------------------------------------------------------------------------

    def _config(self) -> OrchestratorConfig:
        raw = load_raw_config(self.config_location, session_or_clients=self.client)
        return parse_config(raw, tables=self.tables)

    def queues(self) -> dict[str, Any]:
        """Per labourer: queued, running, failed, expired, completed, retry-waiting, closed and health now."""
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
        """One labourer: its counts and health, and at most ``OLDEST_TASKS`` of its tasks of each kind."""
        now = time.time()
        config = self._config_or_not_found()
        if labourer_id not in {labourer.id for labourer in config.labourers}:
            raise NotFoundError(f"no labourer {labourer_id!r} in the config")
        dynamodb = self.client("dynamodb")
        (line,) = status_report(
            config, dynamodb=dynamodb, cloudwatch=self.client("cloudwatch"), now=now, labourer_ids=[labourer_id]
        )
        lists = TaskLists(dynamodb, config, config.labourer(labourer_id), now)
        return {
            "now": now,
            "labourer": {**line.to_dict(), "health_text": line.health_text},
            "shown": OLDEST_TASKS,
            "tasks": lists.all(OLDEST_TASKS),
        }

    def task(self, task_id: str) -> dict[str, Any]:
        """Where a task is (queued, running, failed, expired, completed, retry-waiting, closed) and why."""
        if not task_id.strip():
            raise NotFoundError("give the task as ?id=")
        config = self._config_or_not_found()
        return {"now": time.time(), **find_task(self.client("dynamodb"), config, task_id.strip(), now=time.time())}

    def _config_or_not_found(self) -> OrchestratorConfig:
        try:
            return self._config()
        except (ConfigError, ConfigSourceError) as error:
            raise NotFoundError(f"the config at {self.config_location}: {error}") from None


STARTED_BY = "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"
"""The input field naming the execution that started this one (StartInvocations sets it, as AWS's console reads it)."""
EXPRESS_NO_HISTORY = ("An Express execution has no history through the API: on AWS its states are in its state "
                      "machine's log group (level ALL).")  # fmt: skip


def _execution_arn(value: Any) -> bool:
    return isinstance(value, str) and ":execution:" in value


def processor_definition(definition: Mapping[str, Any], map_run_arn: str) -> dict[str, Any]:
    """The definition a Map Run's children run: the ItemProcessor of the Distributed Map the Map Run is of (its label
    or name is the Map Run ARN's ``<machine>/<label>`` part; with one Distributed Map in the definition, that one)."""
    label = map_run_arn.split(":")[-2].partition("/")[2] if map_run_arn.count(":") >= 7 else ""
    found: list[tuple[str, Mapping[str, Any]]] = []

    def walk(states: Mapping[str, Any]) -> None:
        for name, state in states.items():
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                if processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
                    found.append((str(state.get("Label") or name), processor))
                walk(processor.get("States", {}))
            for branch in state.get("Branches", []):
                walk(branch.get("States", {}))

    walk(definition.get("States", {}))
    matching = [processor for name, processor in found if name == label] or [processor for _, processor in found]
    if not matching:
        raise NotFoundError(f"no Distributed Map in the definition of {map_run_arn}'s execution")
    processor = matching[0]
    return {"StartAt": processor["StartAt"], "States": processor["States"]}


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return max(int(token), 0)
    except ValueError:
        raise NotFoundError(f"not a next_token of this console: {token!r}") from None


def _no_output(status: str, error: str | None) -> str | None:
    """Why an execution has no output, in words (``None`` when it has one)."""
    if status == "RUNNING":
        return "No output yet: the execution is still running."
    if status == "SUCCEEDED":
        return None
    cause = f" with {error}" if error else ""
    return (f"No output: the execution {status.lower().replace('_', ' ')}{cause}. An execution that does not succeed "
            "has no output; its error is above, and the state that failed is red in the graph.")  # fmt: skip


def _visit_json(visit: Visit, history: History) -> dict[str, Any]:
    shown = visit.to_dict()
    shown["cause"] = _json(visit.cause)
    shown["traceback"] = traceback_text(visit.cause)
    iteration = history.iterations.get(visit.scope)
    shown["iteration"] = iteration.to_dict() if iteration is not None else None
    where: list[str] = []
    while iteration is not None:
        label = f" ({iteration.label})" if iteration.label else ""
        where.insert(0, f"{iteration.map_state} #{iteration.index}{label}")
        iteration = history.iterations.get(iteration.parent)
    shown["where"] = " > ".join(where) or None
    return shown


def _children_json(history: History, scope: int) -> dict[str, list[dict[str, Any]]]:
    return {name: [item.to_dict() for item in items] for name, items in history.children(scope).items()}


def graph_json(definition: Mapping[str, Any], history: History) -> dict[str, Any]:
    """The state graph laid out as the demo's picture lays it out: boxes (containers first, so they are drawn under
    their states) with how often each state was entered and how it ended, and edges as polylines with how often the
    execution took them."""
    parsed = parse_graph(definition)
    placed = layout(parsed)
    taken = taken_edges(history.transitions, graph_edges(parsed))
    counts = history.entered()
    boxes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []

    def collect(graph: PlacedGraph, depth: int) -> None:
        for box in graph.boxes.values():
            name = box.node.name
            boxes.append(
                {
                    "name": name,
                    "type": box.node.type,
                    "x": box.x,
                    "y": box.y,
                    "w": box.w,
                    "h": box.h,
                    "count": counts.get(name, 0),
                    "status": history.state_status(name),
                    "caught": sum(1 for visit in history.visits_of(name) if visit.status == "caught"),
                    "container": bool(box.inner),
                    "depth": depth,
                }
            )
        for line in edge_lines(graph, taken):
            edges.append(
                {
                    "source": line.edge.source,
                    "target": line.edge.target,
                    "kind": line.edge.kind,
                    "taken": line.taken,
                    "count": line.count,
                    "points": [list(point) for point in line.points],
                }
            )
        for box in graph.boxes.values():
            for inner in box.inner:
                collect(inner, depth + 1)

    collect(placed, 0)
    xs = [point[0] for edge in edges for point in edge["points"]] + [0.0, placed.w]
    ys = [point[1] for edge in edges for point in edge["points"]] + [0.0, placed.h]
    return {"x": min(xs), "y": min(ys), "width": max(xs) - min(xs), "height": max(ys) - min(ys),
            "boxes": boxes, "edges": edges}  # fmt: skip


def state_visits(history: History) -> dict[str, dict[str, Any]]:
    """Per state name: how often it was entered, how it ended, and its first ``MAX_VISITS`` visits (input, output,
    status, error)."""
    states: dict[str, dict[str, Any]] = {}
    for visit in history.visits:
        state = states.setdefault(visit.state, {"entered": 0, "visits": []})
        state["status"] = history.state_status(visit.state)
        state["entered"] += 1
        if len(state["visits"]) < MAX_VISITS:
            state["visits"].append(_visit_json(visit, history))
    return states
