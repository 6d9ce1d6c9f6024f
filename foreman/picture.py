"""A picture of a run, drawn with Pillow: the state machine and what each labourer did over the ticks.

Left, the state machine as a graph of boxes and arrows, laid out from its ASL definition itself (``Next``, ``Catch``,
``Choices``/``Default`` edges; ``Map`` and ``Parallel`` states drawn as containers around their own graphs). Each state
carries how many times the last execution entered it (its ``*StateEntered`` events), and the states and edges it went
through are highlighted. A run that handed its tasks over (``HandOver``) has a second graph below: its Invocations
execution's, with InvokeLabourers' child executions counted together inside the Distributed Map. Right, one chart
per labourer over the ticks (invocations as bars, eco status as a line, the cap as a dashed line) and a chart of the
simulated resource's metric against the labourer's feelings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from foreman.history import History, read_history, taken_edges
from foreman_core.config import STATUS_NAMES

Color = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

WHITE: Color = (255, 255, 255)
INK: Color = (33, 33, 33)
MUTED: Color = (130, 130, 130)
GRID: Color = (225, 225, 225)
TAKEN: Color = (46, 125, 50)
TAKEN_FILL: Color = (221, 242, 223)
FAILED: Color = (211, 47, 47)
FAILED_FILL: Color = (253, 228, 228)
CAUGHT: Color = (239, 108, 0)
CAUGHT_FILL: Color = (255, 238, 219)
CONTAINER_FILL: Color = (244, 250, 244)
IDLE_FILL: Color = (246, 246, 246)
IDLE_LINE: Color = (185, 185, 185)
BAR: Color = (66, 133, 244)
RUNNING_BAR: Color = (190, 200, 215)
STATUS_COLORS: dict[int, Color] = {
    4: (56, 142, 60),
    3: (124, 179, 66),
    2: (249, 168, 37),
    1: (239, 108, 0),
    0: (211, 47, 47),
}
BAND_COLORS: dict[int, Color] = {  # each band its own hue, so High and Good read apart at a glance
    4: (200, 230, 201),
    3: (233, 244, 208),
    2: (255, 241, 196),
    1: (255, 222, 190),
    0: (250, 213, 213),
}
ALLOWED: Color = (123, 31, 162)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError, ValueError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


FONT = _font(13)
SMALL = _font(11)
TITLE = _font(20)
HEADING = _font(15)


def _text_width(text: str, font: Font) -> int:
    left, _, right, _ = font.getbbox(text)
    return int(right - left)


# ---------------------------------------------------------------------------------------------------------------------
# The state graph, from ASL


@dataclass(frozen=True)
class Edge:
    """A transition: ``kind`` is ``next``, ``catch``, ``choice`` or ``default``."""

    source: str
    target: str
    kind: str


@dataclass
class StateNode:
    """One state; ``branches`` are the graphs inside a Map (one) or a Parallel (one per branch)."""

    name: str
    type: str
    branches: list[StateGraph] = field(default_factory=list)


@dataclass
class StateGraph:
    """The states of one ASL ``States`` block, in definition order, and the transitions between them."""

    start: str
    states: dict[str, StateNode]
    edges: list[Edge]

    def all_states(self) -> Iterable[StateNode]:
        """Every state, nested ones included."""
        for node in self.states.values():
            yield node
            for branch in node.branches:
                yield from branch.all_states()


def parse_graph(definition: Mapping[str, Any]) -> StateGraph:
    """The graph of an ASL definition (a state machine, a Map's ``ItemProcessor``/``Iterator``, a Parallel branch)."""
    states: dict[str, StateNode] = {}
    edges: list[Edge] = []
    for name, state in definition["States"].items():
        kind = str(state.get("Type", "?"))
        branches = []
        inner = state.get("ItemProcessor") or state.get("Iterator")
        if kind == "Map" and inner:
            branches.append(parse_graph(inner))
        if kind == "Parallel":
            branches.extend(parse_graph(branch) for branch in state.get("Branches", []))
        states[name] = StateNode(name, kind, branches)
        if "Next" in state:
            edges.append(Edge(name, state["Next"], "next"))
        for choice in state.get("Choices", []):
            if "Next" in choice:
                edges.append(Edge(name, choice["Next"], "choice"))
        if "Default" in state:
            edges.append(Edge(name, state["Default"], "default"))
        for catcher in state.get("Catch", []):
            edges.append(Edge(name, catcher["Next"], "catch"))
    return StateGraph(str(definition["StartAt"]), states, edges)


def entered_counts(history: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """How many times each state was entered: the ``*StateEntered`` events of an execution's history, by name."""
    counts: Counter[str] = Counter()
    for event in history:
        if str(event.get("type", "")).endswith("StateEntered"):
            counts[str(event["stateEnteredEventDetails"]["name"])] += 1
    return counts


def layers(graph: StateGraph) -> list[list[str]]:
    """The states in rows: each state one row below the lowest of its predecessors (longest path from the start,
    ignoring edges that loop back); unreachable states last. Within a row, in the order they are first reached."""
    order: list[str] = []
    back: set[Edge] = set()
    on_path: set[str] = set()
    seen: set[str] = set()

    def visit(name: str) -> None:
        seen.add(name)
        on_path.add(name)
        for edge in graph.edges:
            if edge.source != name or edge.target not in graph.states:
                continue
            if edge.target in on_path:
                back.add(edge)
            elif edge.target not in seen:
                visit(edge.target)
        on_path.discard(name)
        order.append(name)

    if graph.start in graph.states:
        visit(graph.start)
    depth: dict[str, int] = {}
    for name in reversed(order):  # reverse post-order is a topological order of the forward edges
        depth.setdefault(name, 0)
        for edge in graph.edges:
            if edge.source == name and edge not in back and edge.target in graph.states:
                depth[edge.target] = max(depth.get(edge.target, 0), depth[name] + 1)
    rows: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    reached = _breadth_first(graph)
    for name in reached:
        if name in depth:
            rows[depth[name]].append(name)
    unreachable = [name for name in graph.states if name not in depth]
    if unreachable:
        rows.append(unreachable)
    return rows


def _breadth_first(graph: StateGraph) -> list[str]:
    found = [graph.start] if graph.start in graph.states else []
    for name in found:
        for edge in graph.edges:
            if edge.source == name and edge.target in graph.states and edge.target not in found:
                found.append(edge.target)
    return found


# ---------------------------------------------------------------------------------------------------------------------
# Layout


PAD_X, PAD_Y = 12, 8
LINE = 17
GAP_X, GAP_Y = 22, 30
HEADER = 2 * LINE + 8


@dataclass
class Placed:
    """A state's box, in picture coordinates."""

    node: StateNode
    x: float
    y: float
    w: float
    h: float
    inner: list[PlacedGraph] = field(default_factory=list)

    @property
    def center(self) -> float:
        return self.x + self.w / 2


@dataclass
class PlacedGraph:
    """A laid-out graph: its boxes by state name, its edges and its extent."""

    graph: StateGraph
    boxes: dict[str, Placed]
    w: float
    h: float
    rows: list[list[float]] = field(default_factory=list)
    """Each row's ``[top, bottom]``."""
    row_of: dict[str, int] = field(default_factory=dict)
    """Each state's row."""

    def moved(self, dx: float, dy: float) -> None:
        """Shift every box (nested ones included) by ``dx``, ``dy``."""
        for row in self.rows:
            row[0] += dy
            row[1] += dy
        for box in self.boxes.values():
            box.x += dx
            box.y += dy
            for inner in box.inner:
                inner.moved(dx, dy)


def _place_node(node: StateNode) -> Placed:
    """A box of the right size at (0, 0); a container holds its laid-out branches."""
    text_w = max(_text_width(node.name, FONT), _text_width(node.type, SMALL)) + 46
    if not node.branches:
        return Placed(node, 0, 0, max(text_w + 2 * PAD_X, 118), 2 * LINE + 2 * PAD_Y)
    inner = [layout(branch) for branch in node.branches]
    inner_w = sum(graph.w for graph in inner) + GAP_X * (len(inner) - 1)
    inner_h = max(graph.h for graph in inner)
    w = max(text_w + 2 * PAD_X, inner_w + 4 * PAD_X)
    h = HEADER + inner_h + 2 * PAD_Y + 4
    x = (w - inner_w) / 2
    for graph in inner:
        graph.moved(x, HEADER + PAD_Y)
        x += graph.w + GAP_X
    return Placed(node, 0, 0, w, h, inner)


def layout(graph: StateGraph) -> PlacedGraph:
    """Lay out a graph top to bottom: rows from ``layers``, each state under the middle of its predecessors."""
    boxes = {name: _place_node(node) for name, node in graph.states.items()}
    parents: dict[str, list[str]] = {name: [] for name in graph.states}
    for edge in graph.edges:
        if edge.target in parents and edge.source in boxes:
            parents[edge.target].append(edge.source)
    y = 0.0
    placed: set[str] = set()
    extents: list[list[float]] = []
    row_of: dict[str, int] = {}
    for row in layers(graph):
        if not placed:  # the first row: side by side around 0
            cursor = -(sum(boxes[name].w for name in row) + GAP_X * (len(row) - 1)) / 2
            for name in row:
                boxes[name].x = cursor
                cursor += boxes[name].w + GAP_X
        else:
            anchored: list[tuple[float, int, str]] = []
            free: list[str] = []
            for index, name in enumerate(row):
                anchors = [boxes[parent].center for parent in parents[name] if parent in placed]
                if anchors:
                    anchored.append((sum(anchors) / len(anchors), index, name))
                else:
                    free.append(name)
            anchored.sort()
            right: float | None = None
            shifts = []
            for center, _, name in anchored:  # under the parents, pushed right where they would overlap
                box = boxes[name]
                box.x = center - box.w / 2 if right is None else max(center - box.w / 2, right + GAP_X)
                right = box.x + box.w
                shifts.append(center - box.center)
            mean = sum(shifts) / len(shifts) if shifts else 0.0
            for _, _, name in anchored:
                boxes[name].x += mean
            cursor = (right + mean + GAP_X) if right is not None else 0.0
            for name in free:
                boxes[name].x = cursor
                cursor += boxes[name].w + GAP_X
        height = max(boxes[name].h for name in row)
        for name in row:
            boxes[name].y = y + (height - boxes[name].h) / 2
            row_of[name] = len(extents)
        extents.append([y, y + height])
        placed.update(row)
        y += height + GAP_Y
    left = min(box.x for box in boxes.values())
    right = max(box.x + box.w for box in boxes.values())
    result = PlacedGraph(graph, boxes, right - left, y - GAP_Y, extents, row_of)
    for box in boxes.values():  # nested graphs were laid out around the container's own origin
        for inner in box.inner:
            inner.moved(box.x, box.y)
    result.moved(-left, 0)
    return result


# ---------------------------------------------------------------------------------------------------------------------
# Drawing the graph


def _segment(
    draw: ImageDraw.ImageDraw,
    start: tuple[float, float],
    end: tuple[float, float],
    color: Color,
    width: int,
    *,
    dashed: bool,
) -> None:
    (x0, y0), (x1, y1) = start, end
    if dashed:
        length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1.0)
        steps = max(int(length // 7), 1)
        for step in range(0, steps, 2):
            a, b = step / steps, min((step + 1) / steps, 1.0)
            draw.line(
                [(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)],
                fill=color,
                width=width,
            )
    else:
        draw.line([start, end], fill=color, width=width)


def _arrow(
    draw: ImageDraw.ImageDraw,
    start: tuple[float, float],
    end: tuple[float, float],
    color: Color,
    width: int,
    *,
    dashed: bool,
) -> None:
    _segment(draw, start, end, color, width, dashed=dashed)
    (x0, y0), (x1, y1) = start, end
    length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1.0)
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    size = 7 + width
    left = (x1 - ux * size - uy * size * 0.5, y1 - uy * size + ux * size * 0.5)
    right = (x1 - ux * size + uy * size * 0.5, y1 - uy * size - ux * size * 0.5)
    draw.polygon([end, left, right], fill=color)


@dataclass(frozen=True)
class EdgeLine:
    """Where an edge is drawn, as a polyline (from the bottom of its source to the top of its target, around the
    boxes of the rows it passes; a loop back leaves from the side), and how often the execution took it."""

    edge: Edge
    points: tuple[tuple[float, float], ...]
    count: int = 0

    @property
    def taken(self) -> bool:
        """The execution went this way at least once."""
        return self.count > 0

    @property
    def start(self) -> tuple[float, float]:
        return self.points[0]

    @property
    def end(self) -> tuple[float, float]:
        return self.points[-1]


def graph_edges(graph: StateGraph) -> list[tuple[str, str, str]]:
    """Every edge of a graph and of the graphs nested in it, as ``(source, target, kind)``."""
    found = [(edge.source, edge.target, edge.kind) for edge in graph.edges]
    for node in graph.states.values():
        for branch in node.branches:
            found.extend(graph_edges(branch))
    return found


def edge_lines(placed: PlacedGraph, taken: Mapping[tuple[str, str, str], int]) -> list[EdgeLine]:
    """The edges of one laid-out graph (not its nested ones) as lines, with how often each was taken
    (``taken``: ``foreman.history.taken_edges``, by ``(source, target, kind)``)."""
    outgoing: dict[str, list[Edge]] = {}
    for edge in placed.graph.edges:
        if edge.source in placed.boxes and edge.target in placed.boxes:
            outgoing.setdefault(edge.source, []).append(edge)
    lines = []
    for source, edges in outgoing.items():
        box = placed.boxes[source]
        edges.sort(key=lambda e: placed.boxes[e.target].center)
        for index, edge in enumerate(edges):
            target = placed.boxes[edge.target]
            count = taken.get((edge.source, edge.target, edge.kind), 0)
            start_x = box.x + box.w * (index + 1) / (len(edges) + 1)
            points: tuple[tuple[float, float], ...]
            if target.y <= box.y:  # a loop back: leave from the side
                points = ((box.x + box.w, box.y + box.h / 2), (target.x + target.w, target.y + target.h / 2))
            else:
                points = _route(placed, source, edge.target, (start_x, box.y + box.h), (target.center, target.y))
            lines.append(EdgeLine(edge, points, count))
    return lines


def _crosses(start: tuple[float, float], end: tuple[float, float], box: Placed, margin: float = 3) -> bool:
    """Whether the segment ``start``-``end`` (going down) passes through ``box``."""
    (x0, y0), (x1, y1) = start, end
    top, bottom = max(y0, box.y - margin), min(y1, box.y + box.h + margin)
    if top > bottom or y1 <= y0:
        return False

    def x_at(y: float) -> float:
        return x0 + (x1 - x0) * (y - y0) / (y1 - y0)

    low, high = sorted((x_at(top), x_at(bottom)))
    return low < box.x + box.w + margin and high > box.x - margin


def _route(
    placed: PlacedGraph, source: str, target: str, start: tuple[float, float], end: tuple[float, float]
) -> tuple[tuple[float, float], ...]:
    """A straight line where it crosses no other state's box; else down to the gap below the source's row, along it,
    down the nearest free lane beside the boxes of the rows between (if any), and along the gap above the target's
    row to the target."""
    others = [box for name, box in placed.boxes.items() if name not in (source, target)]
    first, last = placed.row_of.get(source), placed.row_of.get(target)
    if first is None or last is None or last <= first or not any(_crosses(start, end, box) for box in others):
        return (start, end)
    below = placed.rows[first][1] + GAP_Y / 2
    above = placed.rows[last][0] - GAP_Y / 2
    between = [box for name, box in placed.boxes.items() if first < placed.row_of.get(name, -1) < last]
    if not between:
        return (start, (start[0], below), (end[0], below), end)
    lanes = {end[0]} | {box.x - GAP_X / 2 for box in between} | {box.x + box.w + GAP_X / 2 for box in between}
    free = [lane for lane in lanes if not any(box.x - 4 < lane < box.x + box.w + 4 for box in between)]
    lane = min(free or lanes, key=lambda x: (abs(x - start[0]) + abs(x - end[0]), x))
    return (start, (start[0], below), (lane, below), (lane, above), (end[0], above), end)


def _polyline(
    draw: ImageDraw.ImageDraw, points: Sequence[tuple[float, float]], color: Color, width: int, *, dashed: bool
) -> None:
    """Segments from point to point, an arrowhead on the last one."""
    for start, end in pairwise(points[:-1]):
        _segment(draw, start, end, color, width, dashed=dashed)
    _arrow(draw, points[-2], points[-1], color, width, dashed=dashed)


def draw_graph(draw: ImageDraw.ImageDraw, placed: PlacedGraph, history: History) -> None:
    """Draw a laid-out graph (boxes, then edges on top), highlighting what ``history`` says was entered and taken."""
    taken = taken_edges(history.transitions, graph_edges(placed.graph))
    _draw_graph(draw, placed, history, taken)


def _draw_graph(
    draw: ImageDraw.ImageDraw, placed: PlacedGraph, history: History, taken: Mapping[tuple[str, str, str], int]
) -> None:
    counts = history.entered()
    for box in placed.boxes.values():
        _draw_box(draw, box, counts.get(box.node.name, 0), history.state_status(box.node.name))
    for line in edge_lines(placed, taken):
        color, width = (TAKEN, 3) if line.taken else (IDLE_LINE, 1)
        _polyline(draw, line.points, color, width, dashed=line.edge.kind == "catch")
    for box in placed.boxes.values():
        for inner in box.inner:
            _draw_graph(draw, inner, history, taken)


def _draw_box(draw: ImageDraw.ImageDraw, box: Placed, count: int, status: str = "succeeded") -> None:
    taken = count > 0
    line = {"failed": FAILED, "caught": CAUGHT}.get(status, TAKEN) if taken else IDLE_LINE
    x0, y0, x1, y1 = box.x, box.y, box.x + box.w, box.y + box.h
    if box.inner:
        fill = CONTAINER_FILL if taken else WHITE
    else:
        fill = {"failed": FAILED_FILL, "caught": CAUGHT_FILL}.get(status, TAKEN_FILL) if taken else IDLE_FILL
    draw.rounded_rectangle([x0, y0, x1, y1], radius=8, fill=fill, outline=line, width=3 if taken else 1)
    ink = INK if taken else MUTED
    draw.text((x0 + PAD_X, y0 + PAD_Y), box.node.name, font=FONT, fill=ink)
    draw.text((x0 + PAD_X, y0 + PAD_Y + LINE + 1), box.node.type, font=SMALL, fill=MUTED)
    badge = f"{count}x"
    badge_w = _text_width(badge, SMALL) + 10
    bx1, by0 = x1 - 6, y0 + 6
    draw.rounded_rectangle([bx1 - badge_w, by0, bx1, by0 + 16], radius=7, fill=line)
    draw.text((bx1 - badge_w + 5, by0 + 2), badge, font=SMALL, fill=WHITE)


def merged_history(histories: Iterable[History]) -> History:
    """Several executions' histories read as one, for one graph: every visit and every transition of each (a
    Distributed Map's children drawn inside their Map, each state's count the sum over the children)."""
    merged = History()
    for history in histories:
        merged.visits.extend(history.visits)
        merged.transitions.update(history.transitions)
    return merged


@dataclass
class HandOver:
    """A run's Invocations execution, for its graph: its definition, its own history events and each of its Map
    Run's child executions' (the run's claims and invokes)."""

    definition: Mapping[str, Any]
    history: Sequence[Mapping[str, Any]]
    children: Sequence[Sequence[Mapping[str, Any]]]

    def read(self) -> History:
        """Its history with its children's: what its graph shows."""
        return merged_history([read_history(self.history), *(read_history(child) for child in self.children)])


# ---------------------------------------------------------------------------------------------------------------------
# Charts


@dataclass
class LabourerSeries:
    """What one labourer did at each tick."""

    cap: int
    invoked: list[int]
    status: list[int]
    running: list[int] | None = None
    """Tasks already running when the tick began (drawn under the new invocations)."""
    allowed: list[float | None] | None = None
    """Target tracking's allowance at each tick (``None`` where the run did not step it): drawn as a line."""


@dataclass
class ResourceSeries:
    """A simulated resource's metric at each tick, and the feelings it is judged by, or the target it is held at
    (``target``: a dashed line instead of the feelings' bands)."""

    title: str
    unit: str
    values: list[float]
    feelings: list[tuple[int, float]]
    lower_is_better: bool = True
    target: float | None = None


CHART_W, CHART_H = 760, 225
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 52, 100, 50, 34


def _x_positions(ticks: Sequence[int], left: float, width: float) -> list[float]:
    step = width / max(len(ticks), 1)
    return [left + step * (index + 0.5) for index in range(len(ticks))]


def _x_axis(
    draw: ImageDraw.ImageDraw,
    ticks: Sequence[int],
    xs: Sequence[float],
    *,
    bottom: float,
    left: float,
    right: float,
    times: Sequence[str] | None = None,
) -> None:
    """The ticks' numbers, or their (simulated) times when ``times`` are given, as few as fit side by side."""
    draw.line([(left, bottom), (right, bottom)], fill=INK, width=1)
    labels = [str(time) for time in times] if times else [str(tick) for tick in ticks]
    widest = max((_text_width(label, SMALL) for label in labels), default=0) + 8
    spacing = (right - left) / max(len(labels), 1)
    every = max(1, int(-(-widest // spacing)))
    for index, (label, x) in enumerate(zip(labels, xs, strict=True)):
        if index % every == 0:
            draw.text((x - _text_width(label, SMALL) / 2, bottom + 4), label, font=SMALL, fill=INK)
    label = "simulated time, one tick a minute" if times else "tick (simulated minute)"
    draw.text(((left + right) / 2 - _text_width(label, SMALL) / 2, bottom + 18), label, font=SMALL, fill=MUTED)


def _frame(draw: ImageDraw.ImageDraw, x: float, y: float, title: str) -> tuple[float, float, float, float]:
    draw.rectangle([x, y, x + CHART_W, y + CHART_H], fill=WHITE, outline=GRID)
    draw.text((x + 10, y + 8), title, font=HEADING, fill=INK)
    return x + PLOT_LEFT, y + PLOT_TOP, x + CHART_W - PLOT_RIGHT, y + CHART_H - PLOT_BOTTOM


def draw_labourer_chart(
    draw: ImageDraw.ImageDraw,
    x: float,
    y: float,
    *,
    name: str,
    ticks: Sequence[int],
    series: LabourerSeries,
    times: Sequence[str] | None = None,
) -> None:
    """Invocations per tick (bars, left axis), eco status (line, right axis 0..4), the cap (dashed, named in the
    legend so its label never sits on the status line) and, for a target-tracked labourer, its allowance (line)."""
    title = f"{name}: " + ("running + invoked" if series.running else "invoked") + " per tick (bars), eco status (line)"
    left, top, right, bottom = _frame(draw, x, y, title)
    running = series.running or [0] * len(series.invoked)
    allowed = [value for value in series.allowed or [] if value is not None]
    top_value = max([series.cap, *(r + i for r, i in zip(running, series.invoked, strict=True)), 1])
    top_value = max(top_value, int(-(-max(allowed, default=0) // 1)))
    height = bottom - top

    def y_of(value: float) -> float:
        return bottom - height * value / top_value

    grid_step = max(1, round(top_value / 5))
    for value in range(0, top_value + 1, grid_step):
        draw.line([(left, y_of(value)), (right, y_of(value))], fill=GRID)
        draw.text((left - 8 - _text_width(str(value), SMALL), y_of(value) - 7), str(value), font=SMALL, fill=INK)
    xs = _x_positions(ticks, left, right - left)
    bar_w = max(3.0, (right - left) / max(len(ticks), 1) * 0.55)
    for before, value, cx in zip(running, series.invoked, xs, strict=True):
        if before:
            draw.rectangle([cx - bar_w / 2, y_of(before), cx + bar_w / 2, bottom], fill=RUNNING_BAR)
        if value:
            draw.rectangle([cx - bar_w / 2, y_of(before + value), cx + bar_w / 2, y_of(before)], fill=BAR)
    cap_y = y_of(series.cap)
    for start in range(int(left), int(right), 12):
        draw.line([(start, cap_y), (min(start + 6, right), cap_y)], fill=INK, width=1)
    legend = [*([("running", RUNNING_BAR)] if series.running else []), ("invoked", BAR),
              *([("allowed", ALLOWED)] if series.allowed else [])]  # fmt: skip
    legend_x = right - 12 - sum(_text_width(text, SMALL) + 24 for text, _ in legend) - _text_width("cap 99", SMALL) - 30
    for start in range(int(legend_x), int(legend_x) + 18, 6):
        draw.line([(start, top - 11), (start + 3, top - 11)], fill=INK, width=1)
    draw.text((legend_x + 22, top - 19), f"cap {series.cap}", font=SMALL, fill=INK)
    legend_x += _text_width(f"cap {series.cap}", SMALL) + 36
    for text, color in legend:
        if color == ALLOWED:
            draw.line([(legend_x, top - 11), (legend_x + 12, top - 11)], fill=color, width=3)
        else:
            draw.rectangle([legend_x, top - 16, legend_x + 10, top - 6], fill=color)
        draw.text((legend_x + 14, top - 19), text, font=SMALL, fill=INK)
        legend_x += _text_width(text, SMALL) + 24

    if series.allowed:  # target tracking's allowance, a step line over the bars
        steps = [(cx, y_of(value)) for cx, value in zip(xs, series.allowed, strict=True) if value is not None]
        half = (right - left) / max(len(ticks), 1) / 2
        for px, py in steps:
            draw.line([(px - half, py), (px + half, py)], fill=ALLOWED, width=3)
        for (x0, y0), (_, y1) in pairwise(steps):
            draw.line([(x0 + half, y0), (x0 + half, y1)], fill=ALLOWED, width=1)

    def status_y(status: float) -> float:
        return bottom - height * status / 4

    for status in range(5):
        text = f"{STATUS_NAMES[status]} ({status})"
        draw.text((right + 8, status_y(status) - 7), text, font=SMALL, fill=STATUS_COLORS[status])
    points = [(cx, status_y(status)) for cx, status in zip(xs, series.status, strict=True)]
    if len(points) > 1:
        draw.line(points, fill=INK, width=2, joint="curve")
    for (px, py), status in zip(points, series.status, strict=True):
        draw.ellipse([px - 5, py - 5, px + 5, py + 5], fill=STATUS_COLORS.get(status, INK), outline=INK)
    _x_axis(draw, ticks, xs, bottom=bottom, left=left, right=right, times=times)
    draw.text((left - 40, top - 19), "tasks", font=SMALL, fill=INK)
    draw.text((right + 8, top - 19), "status", font=SMALL, fill=INK)


def draw_resource_chart(
    draw: ImageDraw.ImageDraw,
    x: float,
    y: float,
    ticks: Sequence[int],
    series: ResourceSeries,
    *,
    times: Sequence[str] | None = None,
) -> None:
    """The resource's metric per tick over coloured bands: the range each eco status covers."""
    left, top, right, bottom = _frame(draw, x, y, series.title)
    top_value = max([100.0, *series.values])
    height = bottom - top

    def y_of(value: float) -> float:
        return bottom - height * min(value, top_value) / top_value

    bands = _bands(series.feelings, series.lower_is_better, top_value) if series.target is None else []
    for status, low, high in bands:
        draw.rectangle([left, y_of(high), right, y_of(low)], fill=BAND_COLORS[status])
        label = f"{STATUS_NAMES[status]} ({status})"
        draw.text((right + 8, (y_of(high) + y_of(low)) / 2 - 7), label, font=SMALL, fill=STATUS_COLORS[status])
    for value in range(0, int(top_value) + 1, 20):
        draw.line([(left, y_of(value)), (right, y_of(value))], fill=GRID)
        draw.text((left - 8 - _text_width(str(value), SMALL), y_of(value) - 7), str(value), font=SMALL, fill=INK)
    if series.target is not None:  # target tracking holds the metric at this line
        target_y = y_of(series.target)
        for start in range(int(left), int(right), 12):
            draw.line([(start, target_y), (min(start + 7, right), target_y)], fill=STATUS_COLORS[3], width=2)
        draw.text((right + 8, target_y - 7), f"target {series.target:g}", font=SMALL, fill=STATUS_COLORS[3])
    xs = _x_positions(ticks, left, right - left)
    points = [(cx, y_of(value)) for cx, value in zip(xs, series.values, strict=True)]
    if len(points) > 1:
        draw.line(points, fill=INK, width=2, joint="curve")
    for px, py in points:
        draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=INK)
    _x_axis(draw, ticks, xs, bottom=bottom, left=left, right=right, times=times)
    draw.text((left - 40, top - 19), series.unit, font=SMALL, fill=INK)


def _bands(feelings: Sequence[tuple[int, float]], lower_is_better: bool, top: float) -> list[tuple[int, float, float]]:
    """``(status, low, high)`` value ranges of each status under the feelings; what no feeling covers is 0 (Bad)."""
    ordered = sorted(feelings, key=lambda feeling: feeling[0], reverse=True)
    bands: list[tuple[int, float, float]] = []
    if lower_is_better:
        low = 0.0
        for status, threshold in ordered:
            if threshold > low:
                bands.append((status, low, min(threshold, top)))
                low = threshold
        if low < top:
            bands.append((0, low, top))
    else:
        high = top
        for status, threshold in ordered:
            if threshold < high:
                bands.append((status, max(threshold, 0.0), high))
                high = threshold
        if high > 0:
            bands.append((0, 0.0, high))
    return bands


# ---------------------------------------------------------------------------------------------------------------------
# The whole picture


MARGIN = 24


def render_run_picture(
    path: Path,
    *,
    title: str,
    subtitle: str,
    definition: Mapping[str, Any],
    history: Iterable[Mapping[str, Any]],
    ticks: Sequence[int],
    labourers: Mapping[str, LabourerSeries],
    resource: ResourceSeries | None = None,
    resources: Sequence[ResourceSeries] = (),
    times: Sequence[str] | None = None,
    handed_over: HandOver | None = None,
) -> tuple[int, int]:
    """Draw the picture and write it to ``path`` as PNG (parent folders are created); returns its size. ``resources``
    are drawn below ``resource``, one chart each; ``times`` label the ticks on the x axes (default: their numbers).
    ``history`` is the Orchestrator execution's own; ``handed_over``, when the run handed its tasks over, its
    Invocations execution, drawn below it."""
    resources = [*([resource] if resource is not None else []), *resources]
    run = read_history(history)
    placed = layout(parse_graph(definition))
    second = layout(parse_graph(handed_over.definition)) if handed_over is not None else None
    header = 78
    graph_title = 28
    charts = len(labourers) + len(resources)
    charts_h = charts * CHART_H + (charts - 1) * 14
    legend_h = 40
    graphs_w = max(placed.w, second.w if second is not None else 0.0)
    graphs_h = placed.h + graph_title + (second.h + graph_title + 14 if second is not None else 0.0)
    width = int(MARGIN * 3 + graphs_w + CHART_W)
    height = int(header + max(graphs_h + legend_h, charts_h) + MARGIN)
    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, 16), title, font=TITLE, fill=INK)
    draw.text((MARGIN, 46), subtitle, font=FONT, fill=MUTED)

    gx, gy = MARGIN, header
    draw.text((gx, gy), "Orchestrator state machine: the last execution", font=HEADING, fill=INK)
    placed.moved(gx, gy + graph_title)
    draw_graph(draw, placed, run)
    ly = gy + graph_title + placed.h + 14
    if handed_over is not None and second is not None:
        children = len(handed_over.children)
        heading = (f"Its Invocations execution: InvokeLabourers ran {children} child execution"
                   f"{'' if children == 1 else 's'} (their states counted together)")  # fmt: skip
        draw.text((gx, ly), heading, font=HEADING, fill=INK)
        second.moved(gx, ly + graph_title)
        draw_graph(draw, second, handed_over.read())
        ly += graph_title + second.h + 14
    draw.line([(gx, ly + 7), (gx + 30, ly + 7)], fill=TAKEN, width=3)
    draw.text((gx + 36, ly), "taken", font=SMALL, fill=INK)
    _arrow(draw, (gx + 90, ly + 7), (gx + 120, ly + 7), IDLE_LINE, 1, dashed=False)
    draw.text((gx + 126, ly), "Next", font=SMALL, fill=INK)
    _arrow(draw, (gx + 170, ly + 7), (gx + 200, ly + 7), IDLE_LINE, 1, dashed=True)
    draw.text((gx + 206, ly), "Catch", font=SMALL, fill=INK)
    draw.text((gx + 256, ly), "Nx = times the state was entered", font=SMALL, fill=INK)
    for offset, (text, line, fill) in enumerate(
        (("failed, caught", CAUGHT, CAUGHT_FILL), ("failed", FAILED, FAILED_FILL))
    ):
        kx = gx + 460 + offset * 120
        draw.rounded_rectangle([kx, ly + 1, kx + 12, ly + 13], radius=3, fill=fill, outline=line, width=2)
        draw.text((kx + 18, ly), text, font=SMALL, fill=INK)

    cx, cy = MARGIN * 2 + graphs_w, header
    for name, series in labourers.items():
        draw_labourer_chart(draw, cx, cy, name=name, ticks=ticks, series=series, times=times)
        cy += CHART_H + 14
    for chart in resources:
        draw_resource_chart(draw, cx, cy, ticks, chart, times=times)
        cy += CHART_H + 14
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG", optimize=True)
    return width, height


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG file's IHDR chunk; ``ValueError`` if the file is not a PNG."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    if len(head) < 24 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG image")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
