// The local console of `foreman local serve`: plain JavaScript, no build step, no library, nothing from outside.
// Views (by the URL's hash): #/ executions, #/execution/<arn>, #/queues, #/queue/<labourer id>.
// Data comes from the server's JSON API (foreman/console/api.py); each view refreshes itself.
"use strict";

const REFRESH_MS = 2000;
const SVG_NS = "http://www.w3.org/2000/svg";
let timer = null;
let selectedState = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "onclick") node.addEventListener("click", value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function when(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  return new Date(seconds * 1000).toLocaleTimeString([], { hour12: false }) + "." +
    String(Math.floor((seconds * 1000) % 1000)).padStart(3, "0");
}

function duration(seconds) {
  return seconds === null || seconds === undefined ? "-" : seconds.toFixed(2) + " s";
}

function pretty(value) {
  return value === null || value === undefined ? "" : JSON.stringify(value, null, 2);
}

function show(...nodes) {
  const view = document.getElementById("view");
  view.replaceChildren(...nodes.filter((node) => node !== null && node !== undefined));
  document.getElementById("refreshed").textContent = "refreshed " + new Date().toLocaleTimeString([], { hour12: false });
}

function failed(error) {
  show(el("p", { class: "error" }, "Could not load: " + error.message));
}

// ---- executions ----------------------------------------------------------------------------------------------------

async function executionsView() {
  const data = await getJson("/api/executions");
  const rows = data.executions.map((e) =>
    el("tr", { "data-arn": e.arn },
      el("td", {}, e.state_machine),
      el("td", {}, el("a", { href: "#/execution/" + encodeURIComponent(e.arn) }, e.name)),
      el("td", { class: "status " + e.status }, e.status),
      el("td", {}, when(e.start)),
      el("td", { class: "num" }, duration(e.seconds))));
  show(
    el("h1", {}, "Executions"),
    el("p", { class: "muted" }, "Both state machines, newest first; refreshes every " + REFRESH_MS / 1000 + " s."),
    rows.length
      ? el("table", { id: "executions" },
          el("thead", {}, el("tr", {}, el("th", {}, "state machine"), el("th", {}, "name"), el("th", {}, "status"),
            el("th", {}, "started"), el("th", { class: "num" }, "duration"))),
          el("tbody", {}, rows))
      : el("p", { id: "executions", class: "muted" },
          "No executions yet: the schedules start them (or run `foreman run`)."));
  return true;
}

// ---- one execution ------------------------------------------------------------------------------------------------

function drawGraph(graph, states, onSelect) {
  const pad = 12;
  const root = svg("svg", { width: graph.width + 2 * pad, height: graph.height + 2 * pad, id: "graph",
    viewBox: `${-pad} ${-pad} ${graph.width + 2 * pad} ${graph.height + 2 * pad}` });
  root.append(svg("defs", {},
    svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#b9b9b9" })),
    svg("marker", { id: "arrow-taken", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 5, markerHeight: 5, orient: "auto" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#2e7d32" }))));
  for (const box of graph.boxes) {
    const classes = ["state", box.count > 0 ? "taken" : "idle", box.container ? "container" : ""];
    if (box.name === selectedState) classes.push("selected");
    const badge = box.count + "x";
    const badgeWidth = 10 + 7 * badge.length;
    const group = svg("g", { class: classes.join(" "), "data-state": box.name, "data-count": box.count },
      svg("rect", { x: box.x, y: box.y, width: box.w, height: box.h, rx: 8 }),
      svg("text", { class: "name", x: box.x + 12, y: box.y + 21 }, box.name),
      svg("text", { class: "type", x: box.x + 12, y: box.y + 38 }, box.type),
      svg("g", { class: "badge" },
        svg("rect", { x: box.x + box.w - 6 - badgeWidth, y: box.y + 6, width: badgeWidth, height: 16, rx: 7 }),
        svg("text", { x: box.x + box.w - 1 - badgeWidth, y: box.y + 18 }, badge)));
    group.append(svg("title", {}, `${box.name} (${box.type}): entered ${box.count} time(s)`));
    group.addEventListener("click", (event) => { event.stopPropagation(); onSelect(box.name); });
    root.append(group);
  }
  for (const edge of graph.edges) {
    root.append(svg("line", {
      class: ["edge", edge.kind, edge.taken ? "taken" : "idle"].join(" "),
      "data-source": edge.source, "data-target": edge.target,
      x1: edge.start[0], y1: edge.start[1], x2: edge.end[0], y2: edge.end[1],
      "marker-end": edge.taken ? "url(#arrow-taken)" : "url(#arrow)",
    }));
  }
  return root;
}

function stateDetail(name, states) {
  if (!name) return el("div", { id: "state-detail", class: "muted" }, "Click a state to see its input and output.");
  const state = states[name] || { entered: 0, visits: [] };
  const visits = state.visits.map((visit, index) =>
    el("div", { class: "visit" },
      el("h3", {}, `#${index + 1} input`), el("pre", { class: "input" }, pretty(visit.input)),
      el("h3", {}, `#${index + 1} output`),
      el("pre", { class: "output" }, visit.output === null ? "(not exited yet)" : pretty(visit.output))));
  const shown = state.visits.length < state.entered ? ` (the first ${state.visits.length} shown)` : "";
  return el("div", { id: "state-detail", "data-state": name },
    el("h2", {}, name), el("p", { class: "muted" }, `entered ${state.entered} time(s)${shown}`), visits);
}

function reportLines(output) {
  // The Orchestrator's report maps labourer ids to lines; the Scavenger's is a list of lines with their ids.
  if (!output || !output.labourers) return [];
  if (Array.isArray(output.labourers)) return output.labourers;
  return Object.entries(output.labourers).map(([id, line]) => ({ labourer_id: id, ...line }));
}

function reportTable(output) {
  // A line leaves out its zero and empty fields: the columns are every scalar field any line has, "-" where absent.
  const lines = reportLines(output);
  if (!lines.length) return null;
  const columns = [];
  for (const line of lines) {
    for (const [key, value] of Object.entries(line)) {
      if ((value === null || typeof value !== "object") && !columns.includes(key)) columns.push(key);
    }
  }
  const first = ["labourer_id", "status"].filter((key) => columns.includes(key));
  const ordered = [...first, ...columns.filter((key) => !first.includes(key))];
  return el("div", {},
    el("h2", {}, "Report, per labourer"),
    el("table", { id: "report" },
      el("thead", {}, el("tr", {}, ordered.map((key) => el("th", {}, key.replace(/_/g, " "))))),
      el("tbody", {}, lines.map((line) =>
        el("tr", { "data-labourer": line.labourer_id },
          ordered.map((key) => el("td", { class: typeof line[key] === "number" ? "num" : "" },
            line[key] === null || line[key] === undefined ? "-" : String(line[key]))))))));
}

async function executionView(arn) {
  const data = await getJson("/api/execution?arn=" + encodeURIComponent(arn));
  const detailHolder = el("div", { class: "detail" });
  const graphHolder = el("div", { class: "graph" });
  const render = () => {
    graphHolder.replaceChildren(drawGraph(data.graph, data.states, (name) => { selectedState = name; render(); }));
    detailHolder.replaceChildren(stateDetail(selectedState, data.states));
  };
  render();
  const problem = data.error ? el("p", { class: "error" }, `${data.error}: ${data.cause || ""}`) : null;
  show(
    el("p", {}, el("a", { href: "#/" }, "← executions")),
    el("h1", {}, `${data.state_machine}: ${data.name}`),
    el("div", { class: "summary" },
      el("div", {}, el("b", {}, "status"), el("span", { id: "execution-status", class: "status " + data.status }, data.status)),
      el("div", {}, el("b", {}, "started"), when(data.start)),
      el("div", {}, el("b", {}, "duration"), duration(data.seconds)),
      el("div", {}, el("b", {}, "history events"), data.events)),
    problem,
    reportTable(data.output),
    el("h2", {}, "State graph: the path taken, and how often each state was entered"),
    el("div", { class: "layout" }, graphHolder, detailHolder),
    el("h2", {}, "Output"), el("pre", { id: "execution-output" }, pretty(data.output)));
  return data.status === "RUNNING";
}

// ---- queues -------------------------------------------------------------------------------------------------------

const COUNTS = ["queued", "running", "expired", "completed", "retry_waiting", "closed_completed", "closed_dead"];

async function queuesView() {
  const data = await getJson("/api/queues");
  const rows = data.labourers.map((line) =>
    el("tr", { "data-labourer": line.labourer_id },
      el("td", {}, el("a", { href: "#/queue/" + encodeURIComponent(line.labourer_id) }, line.labourer_id)),
      el("td", { class: "num" }, line.cap),
      COUNTS.map((key) => el("td", { class: "num" }, line[key])),
      el("td", { class: "health-" + line.health.status }, line.health_text)));
  show(
    el("h1", {}, "Queues"),
    data.error ? el("p", { class: "error" }, data.error) : null,
    el("table", { id: "queues" },
      el("thead", {}, el("tr", {}, el("th", {}, "labourer"), el("th", { class: "num" }, "cap"),
        COUNTS.map((key) => el("th", { class: "num" }, key.replace(/_/g, "-"))), el("th", {}, "health"))),
      el("tbody", {}, rows)));
  return true;
}

function taskTable(id, tasks) {
  if (!tasks.length) return el("p", { id, class: "muted" }, "none");
  const extra = ["failed_at", "result_error_type", "result_error_message"].filter((key) => tasks.some((t) => key in t));
  return el("table", { id },
    el("thead", {}, el("tr", {}, el("th", {}, "task id"), el("th", {}, "created"), el("th", { class: "num" }, "attempts"),
      extra.map((key) => el("th", {}, key.replace(/_/g, " "))), el("th", {}, "payload"))),
    el("tbody", {}, tasks.map((task) => el("tr", { "data-task": task.task_id },
      el("td", {}, task.task_id), el("td", {}, when(task.created_at)), el("td", { class: "num" }, task.attempts),
      extra.map((key) => el("td", {}, key === "failed_at" ? when(task[key]) : task[key] ?? "-")),
      el("td", {}, (task.payload || "").slice(0, 120))))));
}

async function queueView(labourerId) {
  const data = await getJson("/api/queues/" + encodeURIComponent(labourerId));
  const line = data.labourer;
  show(
    el("p", {}, el("a", { href: "#/queues" }, "← queues")),
    el("h1", {}, "Queue: " + line.labourer_id),
    el("div", { class: "summary", id: "queue-counts" },
      el("div", {}, el("b", {}, "cap"), line.cap),
      COUNTS.map((key) => el("div", { "data-count": key }, el("b", {}, key.replace(/_/g, "-")), line[key])),
      el("div", {}, el("b", {}, "health"), el("span", { class: "health-" + line.health.status }, line.health_text))),
    el("h2", {}, "Oldest queued tasks (next to run)"), taskTable("oldest-queued", data.oldest_queued),
    el("h2", {}, "Failed this attempt (retried by the Scavenger)"), taskTable("failed", data.failed),
    el("h2", {}, "Expired (retried or closed by the Scavenger)"), taskTable("expired", data.expired));
  return true;
}

// ---- routing ------------------------------------------------------------------------------------------------------

async function route() {
  clearTimeout(timer);
  const hash = location.hash || "#/";
  let view;
  if (hash.startsWith("#/execution/")) view = () => executionView(decodeURIComponent(hash.slice("#/execution/".length)));
  else if (hash.startsWith("#/queue/")) view = () => queueView(decodeURIComponent(hash.slice("#/queue/".length)));
  else if (hash === "#/queues") view = queuesView;
  else view = executionsView;
  document.getElementById("nav-executions").classList.toggle("active", !hash.startsWith("#/queue"));
  document.getElementById("nav-queues").classList.toggle("active", hash.startsWith("#/queue"));
  let again = true;
  try {
    again = await view();
  } catch (error) {
    failed(error);
  }
  if (again && (location.hash || "#/") === hash) timer = setTimeout(route, REFRESH_MS);
}

window.addEventListener("hashchange", () => { selectedState = null; route(); });
route();
