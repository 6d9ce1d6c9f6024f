"""An execution's history read as the Step Functions console reads it: who did what, where, and what failed.

``read_history(events)`` walks ``GetExecutionHistory``'s events once and gives:

- each event's **scope**: the Map iteration it belongs to (``0``: the execution's top level), found by following
  ``previousEventId`` back to the iteration's ``MapIterationStarted`` (iterations run side by side, so their events
  interleave; the chain does not). The event that closes an iteration leads the next one back out of it;
- each **visit** of a state (one ``*StateEntered`` to its ``*StateExited``): input, output, times and status:
  ``succeeded``, ``caught`` (it failed and a ``Catch`` moved on: its error is kept), ``failed`` (the error that
  ended the execution), ``running`` or ``aborted`` (never exited in an execution that ended);
- the **transitions** taken: which state entered which, and how often, as the edges of the graph (after a Choice,
  the one branch it took; after a caught error, the ``Catch`` edge, not the ``Next`` one);
- the **iterations**: per Map state, its iterations with their index, a label read from their input (the
  ``task_id``, the ``labourer_id``...) and their status.

Nothing here calls AWS: ``foreman.console`` and ``foreman.picture`` hand in the events.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

LABEL_KEYS = ("task_id", "labourer_id", "id", "name")
"""What names an iteration, first found first, in its input."""
TERMINAL_EXECUTION_EVENTS = ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")


def decode(text: Any) -> Any:
    """A JSON text as its value; anything else (``None``, text that is not JSON) as it is."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def timestamp(value: Any) -> float | None:
    """Unix seconds of a ``datetime`` (boto3's) or of an ISO text; ``None`` otherwise."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _details(event: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            return dict(value)
    return {}


def _is_failure(kind: str) -> bool:
    return kind.endswith(("Failed", "TimedOut", "Aborted")) and not kind.startswith(("Execution", "MapIteration"))


@dataclass
class Visit:
    """One entry of a state: from its ``*StateEntered`` event to its ``*StateExited`` one."""

    state: str
    scope: int
    entered_id: int
    entered: float | None
    input: Any
    output: Any = None
    exited: float | None = None
    status: str = "running"
    error: str | None = None
    cause: str | None = None
    retries: int = 0
    """Failures a ``Retry`` recovered from."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "state": self.state,
            "scope": self.scope,
            "entered_id": self.entered_id,
            "entered": self.entered,
            "exited": self.exited,
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "retries": self.retries,
        }


@dataclass
class Iteration:
    """One iteration of a Map state: ``id`` is its ``MapIterationStarted`` event's id, ``parent`` its Map's scope."""

    id: int
    map_state: str
    index: int
    parent: int
    status: str = "running"
    label: str | None = None
    input: Any = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (without the input)."""
        return {
            "id": self.id,
            "map": self.map_state,
            "index": self.index,
            "parent": self.parent,
            "status": self.status,
            "label": self.label,
        }


@dataclass
class EventRow:
    """One history event as the console's event table shows it."""

    id: int
    previous: int
    type: str
    state: str | None
    scope: int
    time: float | None
    details: dict[str, Any]

    def to_dict(self, start: float | None) -> dict[str, Any]:
        """JSON-safe form; ``elapsed_ms`` counts from ``start`` (the execution's)."""
        elapsed = None if self.time is None or start is None else round((self.time - start) * 1000)
        return {
            "id": self.id,
            "previous": self.previous,
            "type": self.type,
            "state": self.state,
            "scope": self.scope,
            "time": self.time,
            "elapsed_ms": elapsed,
            "details": self.details,
        }


@dataclass
class History:
    """What ``read_history`` found; see the module's docstring."""

    events: list[EventRow] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    iterations: dict[int, Iteration] = field(default_factory=dict)
    transitions: Counter[tuple[str, str, bool]] = field(default_factory=Counter)
    """``(source, target, caught)``: how often ``source`` led to ``target``, through a ``Catch`` or not."""
    status: str = "RUNNING"
    """How the execution ended, as far as the history tells (``RUNNING``: no ending event yet)."""
    error: str | None = None
    cause: str | None = None

    def entered(self) -> Counter[str]:
        """How many times each state was entered."""
        return Counter(visit.state for visit in self.visits)

    def visits_of(self, state: str) -> list[Visit]:
        """Every visit of ``state``, in order."""
        return [visit for visit in self.visits if visit.state == state]

    def in_scope(self, scope: int) -> list[Visit]:
        """The visits at the top level (``0``) or in one Map iteration, in order."""
        return [visit for visit in self.visits if visit.scope == scope]

    def children(self, scope: int) -> dict[str, list[Iteration]]:
        """The iterations started in ``scope``, per Map state, by index."""
        found: dict[str, list[Iteration]] = {}
        for iteration in self.iterations.values():
            if iteration.parent == scope:
                found.setdefault(iteration.map_state, []).append(iteration)
        for iterations in found.values():
            iterations.sort(key=lambda iteration: iteration.index)
        return found

    def state_status(self, state: str) -> str:
        """The worst of a state's visits: ``failed``, ``caught``, ``running``, ``aborted``, ``succeeded`` or
        ``idle`` (never entered)."""
        statuses = {visit.status for visit in self.visits if visit.state == state}
        for status in ("failed", "caught", "running", "aborted", "succeeded"):
            if status in statuses:
                return status
        return "idle"


def read_history(events: Iterable[Mapping[str, Any]]) -> History:
    """Read an execution's history events (``GetExecutionHistory``'s, oldest first, every page)."""
    history = History()
    rows: dict[int, EventRow] = {}
    scope_of: dict[int, int] = {}
    state_of: dict[int, str | None] = {}
    open_visits: dict[tuple[int, str], list[Visit]] = {}
    last_closed: dict[tuple[int, str], Visit] = {}
    iteration: Iteration | None
    visit: Visit | None
    for event in events:
        kind = str(event.get("type", ""))
        event_id = int(event.get("id", 0))
        previous = int(event.get("previousEventId") or 0)
        details = _details(event)
        when = timestamp(event.get("timestamp"))
        scope = _scope(history, rows.get(previous), scope_of.get(previous, 0))
        name = details.get("name") if ("StateEntered" in kind or "StateExited" in kind) else None
        if kind.startswith("MapIteration"):
            name = details.get("name")
        state = str(name) if name is not None else state_of.get(previous)
        if kind == "MapIterationStarted":
            iteration = Iteration(event_id, str(details.get("name")), int(details.get("index", 0)), scope)
            history.iterations[event_id] = iteration
            scope = event_id
        scope_of[event_id] = scope
        state_of[event_id] = state
        row = EventRow(event_id, previous, kind, state, scope, when, _shown_details(details))
        history.events.append(row)
        rows[event_id] = row

        if kind.endswith("StateEntered") and state is not None:
            visit = Visit(state, scope, event_id, when, decode(details.get("input")))
            history.visits.append(visit)
            open_visits.setdefault((scope, state), []).append(visit)
            iteration = history.iterations.get(scope)
            if iteration is not None and iteration.input is None:
                iteration.input = visit.input
                iteration.label = _label(visit.input)
            source = _source(rows.get(previous), scope, open_visits, last_closed)
            if source is not None:
                history.transitions[(source.state, state, source.status == "caught")] += 1
        elif kind.endswith("StateExited") and state is not None:
            visit = _open_visit(open_visits, scope, state)
            if visit is not None:
                open_visits[(scope, state)].remove(visit)
                visit.output = decode(details.get("output"))
                visit.exited = when
                visit.status = "caught" if visit.error is not None else "succeeded"
                last_closed[(scope, state)] = visit
                last_closed[(scope, f"#{event_id}")] = visit
        elif kind.startswith("MapIteration") and kind != "MapIterationStarted":
            iteration = history.iterations.get(scope)
            if iteration is not None:
                iteration.status = kind.removeprefix("MapIteration").lower()
        elif kind in TERMINAL_EXECUTION_EVENTS:
            history.status = kind.removeprefix("Execution").upper().replace("TIMEDOUT", "TIMED_OUT")
            history.error, history.cause = details.get("error"), details.get("cause")
            visit = _open_visit(open_visits, scope, state) if state is not None else None
            if visit is not None and kind != "ExecutionSucceeded":
                visit.status = "failed"
                if visit.error is None:
                    visit.error, visit.cause = history.error, history.cause
        elif state is not None:
            visit = _open_visit(open_visits, scope, state)
            if visit is not None and _is_failure(kind) and details.get("error") is not None:
                visit.error, visit.cause = str(details["error"]), details.get("cause")
            elif visit is not None and visit.error is not None and kind.endswith(("Scheduled", "Started")):
                visit.retries += 1  # a Retry: the failure before it did not end the visit
                visit.error = visit.cause = None
    ended = history.status != "RUNNING"
    for visits in open_visits.values():
        for visit in visits:
            if visit.status == "running" and ended:
                visit.status = "failed" if visit.error is not None else "aborted"
    for iteration in history.iterations.values():
        if iteration.status == "running" and ended:
            iteration.status = "aborted"
    return history


def _scope(history: History, previous: EventRow | None, scope: int) -> int:
    """The scope of an event that follows ``previous`` (in ``scope``): the same, except after the event that closed
    an iteration, which leads back out to that iteration's parent."""
    if previous is not None and previous.type.startswith("MapIteration") and previous.type != "MapIterationStarted":
        iteration = history.iterations.get(scope)
        if iteration is not None:
            return iteration.parent
    return scope


def _open_visit(open_visits: Mapping[tuple[int, str], list[Visit]], scope: int, state: str) -> Visit | None:
    visits = open_visits.get((scope, state))
    return visits[0] if visits else None


def _source(
    previous: EventRow | None,
    scope: int,
    open_visits: dict[tuple[int, str], list[Visit]],
    last_closed: Mapping[tuple[int, str], Visit],
) -> Visit | None:
    """The visit that led to a state entered right after ``previous`` (``None``: the first state of the execution or
    of an iteration). A failed visit that moves on without a ``*StateExited`` event is closed here, as caught."""
    if previous is None or previous.scope != scope or previous.type in ("MapIterationStarted", "ExecutionStarted"):
        return None
    if previous.type.endswith("StateExited"):
        return last_closed.get((scope, f"#{previous.id}"))
    if previous.state is None:
        return None
    visit = _open_visit(open_visits, scope, previous.state)
    if visit is not None and visit.error is not None:
        open_visits[(scope, previous.state)].remove(visit)
        visit.status, visit.exited = "caught", previous.time
        return visit
    return last_closed.get((scope, previous.state))


def _label(value: Any) -> str | None:
    if isinstance(value, Mapping):
        for key in LABEL_KEYS:
            if isinstance(value.get(key), str | int | float) and not isinstance(value.get(key), bool):
                return str(value[key])
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _shown_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """An event's details for a person: JSON texts (input, output, parameters) decoded."""
    shown: dict[str, Any] = {}
    for key, value in details.items():
        if key in ("input", "output", "parameters", "result"):
            shown[key] = decode(value)
        elif key.endswith("Details") and isinstance(value, Mapping) and value.get("truncated") is False:
            continue
        else:
            shown[key] = value
    return shown


def taken_edges(
    transitions: Mapping[tuple[str, str, bool], int], edges: Sequence[tuple[str, str, str]]
) -> dict[tuple[str, str, str], int]:
    """How often each edge ``(source, target, kind)`` of a graph was taken, given the transitions: a caught error
    takes the ``catch`` edge between the two states; anything else the ``next``, ``choice`` or ``default`` one.
    Between a Choice and a state that both a rule and the default lead to, the rule is counted."""
    taken: dict[tuple[str, str, str], int] = {}
    for (source, target, caught), count in transitions.items():
        between = [edge for edge in edges if edge[0] == source and edge[1] == target]
        if not between:
            continue
        preferred = [edge for edge in between if (edge[2] == "catch") == caught] or between
        edge = preferred[0]
        taken[edge] = taken.get(edge, 0) + count
    return taken


def traceback_text(cause: Any) -> str | None:
    """A Lambda error's cause (``{"errorMessage", "errorType", "stackTrace": [...]}``, as JSON text or decoded) as the
    Python traceback it came from; ``None`` if it is not one."""
    value = decode(cause)
    if not isinstance(value, Mapping) or not isinstance(value.get("stackTrace"), list):
        return None
    frames = "".join(str(frame) if str(frame).endswith("\n") else f"{frame}\n" for frame in value["stackTrace"])
    error = f"{value.get('errorType', 'Error')}: {value.get('errorMessage', '')}"
    return f"Traceback (most recent call last):\n{frames}{error}"
