// The local console of `foreman local serve`: plain JavaScript, no build step, no library, nothing from outside.
// Views (by the URL's hash): #/ executions (?state_machine=&status=), #/execution/<arn>, #/queues,
// #/queue/<labourer id>, #/task/<task id>; anything else is "not found".
// Data comes from the server's JSON API (foreman/console/api.py); a view that can change refreshes itself.
"use strict";

const REFRESH_MS = 2000;
const PAGE_SIZE = 50;
const SVG_NS = "http://www.w3.org/2000/svg";
const STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];
const STATUS_NAMES = { 0: "Bad", 1: "Low", 2: "Moderate", 3: "Good", 4: "High" };
let timer = null;
let selectedState = null;
let zoom = null; // null: fit the graph to its panel; else a scale
let tokens = []; // the executions list: the next_token of each page shown before this one
let nextToken = null;
let iterationPath = []; // the Map iterations chosen, outermost first (event ids)

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
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
  if (!response.ok) {
    const error = new Error(body.error || response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

function pad(number, size) {
  return String(number).padStart(size || 2, "0");
}

function when(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  const date = new Date(seconds * 1000);
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
  const today = new Date();
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  if (seconds < 120) return seconds.toFixed(2) + " s";
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function number(value) {
  // Metric readings and allowances rounded; counts as they are.
  if (typeof value !== "number") return value;
  return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

function pretty(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function plural(count, word) {
  return `${number(count)} ${word}${count === 1 ? "" : "s"}`;
}

function scroll(table) {
  // A wide table scrolls inside its box: the page itself never scrolls sideways.
  return el("div", { class: "scroll" }, table);
}

function show(...nodes) {
  const view = document.getElementById("view");
  const scrollY = window.scrollY;
  view.replaceChildren(...nodes.flat().filter((node) => node !== null && node !== undefined));
  window.scrollTo(0, scrollY);
  document.getElementById("refreshed").textContent = "refreshed " + when(Date.now() / 1000).slice(0, 8);
}

function failed(error) {
  if (error.status === 404) return notFound(error.message);
  show(el("p", { class: "error", id: "load-error" }, "Could not load: " + error.message));
}

function notFound(message) {
  show(el("h1", { id: "not-found" }, "Not found"),
    el("p", {}, message || `Nothing at ${location.hash}.`),
    el("p", {}, el("a", { href: "#/" }, "The executions"), " · ", el("a", { href: "#/queues" }, "the queues")));
}

function statusChip(status, id) {
  return el("span", { class: "status " + status, id }, status);
}

// An error as a person reads it: its name, its message with real line breaks, a Python traceback as text, any other
// JSON cause pretty-printed.
function errorBlock(error, cause, traceback, attrs, folded) {
  const message = cause && typeof cause === "object" && cause.errorMessage !== undefined ? cause.errorMessage : null;
  const trace = traceback ? el("pre", { class: "traceback" }, traceback) : null;
  const rest = trace ? (folded ? el("details", {}, el("summary", {}, "traceback"), trace) : trace)
    : message !== null ? null
    : cause !== null && cause !== undefined && cause !== "" ? el("pre", { class: "cause" }, pretty(cause)) : null;
  return el("div", Object.assign({ class: "error-block" }, attrs || {}),
    el("div", { class: "error-name" }, error || "error"),
    message !== null ? el("pre", { class: "error-message" }, message) : null,
    rest);
}

// ---- executions ----------------------------------------------------------------------------------------------------

function hashQuery() {
  const at = location.hash.indexOf("?");
  return new URLSearchParams(at < 0 ? "" : location.hash.slice(at + 1));
}

function executionsHash(stateMachine, status) {
  const query = new URLSearchParams();
  if (stateMachine) query.set("state_machine", stateMachine);
  if (status) query.set("status", status);
  const text = query.toString();
  return "#/" + (text ? "?" + text : "");
}

function didWhat(execution) {
  if (execution.status === "RUNNING") return el("span", { class: "muted" }, "running");
  if (execution.error) return el("span", { class: "bad" }, execution.error);
  const summary = execution.summary || {};
  const parts = Object.entries(summary).map(([key, value]) => `${key.replace(/_/g, " ")} ${number(value)}`);
  if (execution.handed_to) {
    // An Orchestrator run that handed its tasks over: its Invocations execution's report, or that it runs.
    const link = el("a", { class: "handed-to", href: "#/execution/" + encodeURIComponent(execution.handed_to) },
      execution.handed_status === "RUNNING" ? "handed over (running)" : "by its Invocations execution");
    if (execution.handed_status === "RUNNING" || !execution.handed_status) return link;
    return [parts.length ? parts.join(" · ") : "nothing to do", " ", link];
  }
  return parts.length ? parts.join(" · ") : el("span", { class: "muted" }, "nothing to do");
}

async function executionsView() {
  const query = hashQuery();
  const stateMachine = query.get("state_machine") || "";
  const status = query.get("status") || "";
  const token = tokens.length ? tokens[tokens.length - 1] : null;
  const url = new URLSearchParams({ limit: PAGE_SIZE });
  if (stateMachine) url.set("state_machine", stateMachine);
  if (status) url.set("status", status);
  if (token) url.set("next_token", token);
  const data = await getJson("/api/executions?" + url.toString());
  nextToken = data.next_token;
  const first = tokens.length * PAGE_SIZE;
  const rows = data.executions.map((e) =>
    el("tr", { "data-arn": e.arn, "data-status": e.status },
      el("td", {}, e.state_machine),
      el("td", { class: "wrap" }, el("a", { href: "#/execution/" + encodeURIComponent(e.arn) }, e.name)),
      el("td", {}, statusChip(e.status)),
      el("td", {}, when(e.start)),
      el("td", { class: "num" }, duration(e.seconds)),
      el("td", { class: "did" }, didWhat(e))));
  const machineSelect = el("select", { id: "filter-state-machine", onchange: (event) => {
    tokens = []; location.hash = executionsHash(event.target.value, status);
  } }, el("option", { value: "" }, "every state machine"),
  data.state_machines.map((name) => el("option", { value: name, selected: name === stateMachine ? "selected" : null },
    `${name} (${number(data.machines[name] || 0)})`)));
  const statusSelect = el("select", { id: "filter-status", onchange: (event) => {
    tokens = []; location.hash = executionsHash(stateMachine, event.target.value);
  } }, el("option", { value: "" }, "any status"),
  STATUSES.map((name) => el("option", { value: name, selected: name === status ? "selected" : null },
    `${name} (${number(data.counts[name] || 0)})`)));
  const range = data.total ? `${number(first + 1)}-${number(first + data.executions.length)} of ${number(data.total)}` : "0";
  const pager = el("div", { class: "pager" },
    el("button", { id: "page-previous", disabled: tokens.length ? null : "disabled",
      onclick: () => { tokens.pop(); route(); } }, "← newer"),
    el("span", { id: "executions-count" }, `${plural(data.total, "execution")}` + (data.total ? `, showing ${range}` : "")),
    el("button", { id: "page-next", disabled: nextToken ? null : "disabled",
      onclick: () => { tokens.push(nextToken); route(); } }, "older →"));
  show(
    el("h1", {}, "Executions"),
    el("div", { class: "filters" }, el("label", {}, "State machine ", machineSelect), el("label", {}, "Status ", statusSelect)),
    pager,
    rows.length
      ? scroll(el("table", { id: "executions" },
          el("thead", {}, el("tr", {}, el("th", {}, "state machine"), el("th", {}, "name"), el("th", {}, "status"),
            el("th", {}, "started"), el("th", { class: "num" }, "duration"), el("th", {}, "what it did"))),
          el("tbody", {}, rows)))
      : el("p", { id: "executions", class: "muted" },
          stateMachine || status ? "No execution matches." : "No executions yet: the schedules start them (or run `foreman run`)."),
    el("p", { class: "muted" }, `Newest first, ${PAGE_SIZE} a page; refreshes every ${REFRESH_MS / 1000} s.`));
  return true;
}

// ---- one execution: the graph --------------------------------------------------------------------------------------

const STATE_CLASSES = { succeeded: "taken", caught: "taken caught", failed: "taken failed", running: "taken running",
  aborted: "taken aborted", idle: "idle" };

function drawGraph(graph, onSelect) {
  const pad = 14;
  const width = graph.width + 2 * pad;
  const height = graph.height + 2 * pad;
  const root = svg("svg", { id: "graph", viewBox: `${graph.x - pad} ${graph.y - pad} ${width} ${height}`,
    preserveAspectRatio: "xMidYMin meet", "data-width": width });
  if (zoom === null) {
    root.setAttribute("width", "100%");
    root.style.maxWidth = width * 1.25 + "px";
  } else {
    root.setAttribute("width", Math.round(width * zoom));
    root.setAttribute("height", Math.round(height * zoom));
  }
  const marker = (id, color, size) => svg("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: size,
    markerHeight: size, orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L10,5 L0,10 z", fill: color }));
  root.append(svg("defs", {}, marker("arrow", "#b9b9b9", 7), marker("arrow-taken", "#2e7d32", 5)));
  for (const box of graph.boxes) {
    const classes = ["state", STATE_CLASSES[box.status] || "taken", box.container ? "container" : ""];
    if (box.name === selectedState) classes.push("selected");
    const badge = box.count + "x";
    const badgeWidth = 10 + 7 * badge.length;
    const note = box.status === "failed" ? " · failed" : box.caught ? ` · ${box.caught} caught` : "";
    const group = svg("g", { class: classes.join(" "), "data-state": box.name, "data-count": box.count,
      "data-status": box.status },
      svg("rect", { x: box.x, y: box.y, width: box.w, height: box.h, rx: 8 }),
      svg("text", { class: "name", x: box.x + 12, y: box.y + 21 }, box.name),
      svg("text", { class: "type", x: box.x + 12, y: box.y + 38 }, box.type + note),
      svg("g", { class: "badge" },
        svg("rect", { x: box.x + box.w - 6 - badgeWidth, y: box.y + 6, width: badgeWidth, height: 16, rx: 7 }),
        svg("text", { x: box.x + box.w - 1 - badgeWidth, y: box.y + 18 }, badge)));
    group.append(svg("title", {}, `${box.name} (${box.type}): entered ${box.count} time(s), ${box.status}`));
    group.addEventListener("click", (event) => { event.stopPropagation(); onSelect(box.name); });
    root.append(group);
  }
  for (const edge of graph.edges) {
    root.append(svg("polyline", {
      class: ["edge", edge.kind, edge.taken ? "taken" : "idle"].join(" "),
      "data-source": edge.source, "data-target": edge.target, "data-count": edge.count,
      points: edge.points.map((point) => point.join(",")).join(" "),
      "marker-end": edge.taken ? "url(#arrow-taken)" : "url(#arrow)",
    }));
  }
  return root;
}

function graphPanel(data, render) {
  const setZoom = (value) => { zoom = value; render(); };
  const current = zoom === null ? "fit" : Math.round(zoom * 100) + "%";
  return el("div", { class: "graph-panel" },
    el("div", { class: "zoom" },
      el("button", { id: "zoom-fit", onclick: () => setZoom(null), class: zoom === null ? "active" : null }, "fit"),
      el("button", { id: "zoom-out", onclick: () => setZoom(Math.max((zoom || 1) / 1.25, 0.3)) }, "−"),
      el("button", { id: "zoom-in", onclick: () => setZoom(Math.min((zoom || 1) * 1.25, 3)) }, "+"),
      el("button", { id: "zoom-actual", onclick: () => setZoom(1) }, "100%"),
      el("span", { class: "muted" }, current),
      el("span", { class: "legend" },
        el("i", { class: "key ok" }), "succeeded ", el("i", { class: "key caught" }), "failed, caught ",
        el("i", { class: "key failed" }), "failed ", el("i", { class: "key idle" }), "not entered")),
    el("div", { class: "graph" + (zoom === null ? " fit" : "") }, drawGraph(data.graph, (name) => {
      selectedState = name; render();
      const detail = document.getElementById("state-detail");
      if (detail && detail.getBoundingClientRect().top > window.innerHeight) detail.scrollIntoView();
    })));
}

function visitBlock(visit, index) {
  const output = visit.status === "failed" ? "(none: the state failed)"
    : visit.status === "running" ? "(not exited yet)"
    : visit.status === "aborted" ? "(none: the execution ended first)"
    : pretty(visit.output);
  return el("div", { class: "visit " + visit.status, "data-status": visit.status },
    el("h3", {}, `#${index + 1} `, statusChip(visit.status), visit.where ? ` in ${visit.where}` : "",
      visit.retries ? ` after ${plural(visit.retries, "retry")}` : ""),
    visit.error ? errorBlock(visit.error, visit.cause, visit.traceback) : null,
    el("h4", {}, "input"), el("pre", { class: "input" }, pretty(visit.input)),
    el("h4", {}, "output"), el("pre", { class: "output" }, output));
}

function stateDetail(name, states) {
  if (!name) return el("div", { id: "state-detail", class: "muted" }, "Click a state for its input, output and errors.");
  const state = states[name] || { entered: 0, visits: [], status: "idle" };
  const shown = state.visits.length < state.entered ? ` (the first ${state.visits.length} shown)` : "";
  return el("div", { id: "state-detail", "data-state": name },
    el("h2", {}, name, " ", state.entered ? statusChip(state.status) : null),
    el("p", { class: "muted" }, `entered ${state.entered} time(s)${shown}`),
    state.visits.map(visitBlock));
}

// ---- one execution: the report -------------------------------------------------------------------------------------

function reportLines(output) {
  // The Orchestrator's report maps labourer ids to lines; the Scavenger's is a list of lines with their ids.
  if (!output || !output.labourers) return [];
  if (Array.isArray(output.labourers)) return output.labourers;
  return Object.entries(output.labourers).map(([id, line]) => ({ labourer_id: id, ...line }));
}

function cellText(key, value) {
  if (value === null || value === undefined || value === "") return "-";
  if (key === "status" && typeof value === "number") return `${value} ${STATUS_NAMES[value] || "?"}`;
  if (key === "errors" && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value).map(([name, count]) => `${name} x${count}`).join(", ") || "-";
  }
  if (Array.isArray(value)) return value.length ? value.map((item) => cellText("", item)).join("; ") : "-";
  if (key === "queue" && typeof value === "object") {
    return `${number(value.depth)}` + (value.oldest_age_seconds !== undefined ? `, oldest ${number(value.oldest_age_seconds)} s` : "");
  }
  if (key === "target_tracking" && typeof value === "object") {
    const reading = value.reading === null || value.reading === undefined ? "no reading" : `read ${number(value.reading)}`;
    return `allowed ${number(value.allowed)} (${number(value.allowance)}), ${reading}, target ${number(value.target)}, ${value.reason}`;
  }
  if (key === "retry_base" && typeof value === "object") return `${number(value.seconds)} s (${value.source})`;
  if (typeof value === "object") return JSON.stringify(value);
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(number(value));
}

const REPORT_ORDER = ["labourer_id", "status", "set_by", "running", "desired", "fetched", "invoked", "skipped",
  "released", "failed", "set_aside", "deferred", "errors", "queue", "target_tracking"];

function reportTable(output, source) {
  // A line leaves out its zero and empty fields: the columns are every field any line has, "-" where absent.
  // source: the execution whose output the report is, when not this one (an Orchestrator run that handed over).
  const lines = reportLines(output);
  if (!lines.length) return null;
  const columns = [];
  for (const line of lines) for (const key of Object.keys(line)) if (!columns.includes(key)) columns.push(key);
  const hidden = ["blocked_by_health", "dead_task_ids", "errors_omitted", "notification_errors_omitted"];
  const ordered = [...REPORT_ORDER.filter((key) => columns.includes(key)),
    ...columns.filter((key) => !REPORT_ORDER.includes(key) && !hidden.includes(key))];
  return el("section", {},
    el("h2", {}, "Report, per labourer"),
    source ? el("p", { class: "muted", id: "report-source" }, "The run's report, from its Invocations execution ",
      executionLink(source), ".") : null,
    scroll(el("table", { id: "report" },
      el("thead", {}, el("tr", {}, ordered.map((key) => el("th", { class: typeof lines[0][key] === "number" ? "num" : "" },
        key === "queue" ? "queued" : key.replace(/_/g, " "))))),
      el("tbody", {}, lines.map((line) =>
        el("tr", { "data-labourer": line.labourer_id },
          ordered.map((key) => {
            const value = line[key];
            if (key === "labourer_id") {
              return el("td", {}, el("a", { href: "#/queue/" + encodeURIComponent(value) }, value));
            }
            const classes = [typeof value === "number" ? "num" : "", key === "status" ? "health-" + value : "",
              key === "errors" && value ? "bad" : ""].join(" ").trim();
            return el("td", { class: classes || null, "data-key": key }, cellText(key, value));
          })))))));
}

// ---- one execution: Map iterations and Map Runs --------------------------------------------------------------------

async function iterationsSection(arn, topLevel) {
  if (!Object.keys(topLevel).length) return null;
  const holder = el("section", { id: "iterations" });
  const levels = [{ iterations: topLevel, visits: null }];
  for (const id of iterationPath) {
    try {
      const scope = await getJson(`/api/execution/scope?arn=${encodeURIComponent(arn)}&scope=${id}`);
      levels[levels.length - 1].chosen = id;
      levels.push({ iterations: scope.iterations, visits: scope.visits, total: scope.visits_total, scope });
    } catch (error) {
      iterationPath = iterationPath.slice(0, levels.length - 1);
      break;
    }
  }
  const choose = (depth, id) => {
    iterationPath = iterationPath.slice(0, depth);
    if (id) iterationPath.push(Number(id));
    refreshIterations(arn, topLevel);
  };
  const children = [el("h2", {}, "Map iterations"),
    el("p", { class: "muted" }, "Pick an iteration (a labourer, then one of its tasks) for its states' input and output.")];
  levels.forEach((level, depth) => {
    if (level.visits) {
      const it = level.scope.iteration;
      children.push(el("div", { class: "scope", "data-scope": level.scope.scope, "data-depth": depth },
        el("h3", {}, `${it.map} #${it.index}`, it.label ? ` (${it.label})` : "", " ", statusChip(it.status.toUpperCase())),
        scroll(el("table", { class: "scope-visits" },
          el("thead", {}, el("tr", {}, el("th", {}, "state"), el("th", {}, "status"), el("th", {}, "entered"),
            el("th", {}, "input"), el("th", {}, "output / error"))),
          el("tbody", {}, level.visits.map((visit) => el("tr", { "data-state": visit.state, "data-status": visit.status },
            el("td", {}, visit.state), el("td", {}, statusChip(visit.status)), el("td", {}, when(visit.entered)),
            el("td", { class: "json" }, el("details", {}, el("summary", {}, "input"), el("pre", { class: "input" }, pretty(visit.input)))),
            el("td", { class: "json" },
              visit.error ? errorBlock(visit.error, visit.cause, visit.traceback) : null,
              el("details", {}, el("summary", {}, "output"), el("pre", { class: "output" },
                visit.status === "failed" ? "(none: the state failed)" : pretty(visit.output))))))))),
        level.total > level.visits.length ? el("p", { class: "muted" }, `the first ${level.visits.length} of ${level.total} visits`) : null));
    }
    for (const [map, iterations] of Object.entries(level.iterations || {})) {
      const select = el("select", { class: "iteration-select", "data-map": map, "data-depth": depth,
        onchange: (event) => choose(depth, event.target.value) },
        el("option", { value: "" }, `${plural(iterations.length, "iteration")} of ${map}: pick one`),
        iterations.map((it) => el("option", { value: it.id, "data-label": it.label || "",
          selected: level.chosen === it.id ? "selected" : null },
          `#${it.index} ${it.label || ""} (${it.status})`)));
      children.push(el("label", { class: "iteration-pick" }, `${map} `, select));
    }
  });
  holder.replaceChildren(...children.filter((child) => child !== null && child !== undefined));
  return holder;
}

async function refreshIterations(arn, topLevel) {
  const section = await iterationsSection(arn, topLevel);
  const old = document.getElementById("iterations");
  if (old && section) old.replaceWith(section);
}

function mapRunsSection(runs) {
  if (!runs || !runs.length) return null; // an endpoint without Map Runs, or a run without a Distributed Map
  return el("section", { id: "map-runs" },
    el("h2", {}, "Map Runs"),
    runs.map((run) => el("div", { class: "map-run", "data-arn": run.arn },
      el("h3", {}, run.arn.split(":").slice(-2).join(":"), " ", run.status ? statusChip(run.status) : null),
      el("p", { class: "muted" }, `started ${when(run.start)}, stopped ${when(run.stop)}` +
        (run.items ? `; items: ${Object.entries(run.items).map(([k, v]) => `${k} ${v}`).join(", ")}` : "")),
      run.children.length ? scroll(el("table", { class: "map-run-children" },
        el("thead", {}, el("tr", {}, el("th", {}, "child execution"), el("th", {}, "status"), el("th", {}, "started"))),
        el("tbody", {}, run.children.map((child) => el("tr", { "data-arn": child.arn, "data-status": child.status },
          el("td", {}, el("a", { href: "#/execution/" + encodeURIComponent(child.arn) }, child.name)),
          el("td", {}, statusChip(child.status)), el("td", {}, when(child.start)))))))
        : el("p", { class: "muted" }, "no child executions yet"))));
}

function executionLink(link, id) {
  // Another execution this one names: its state machine, name and status, opened in the console.
  return el("span", { id },
    el("a", { href: "#/execution/" + encodeURIComponent(link.arn) },
      (link.state_machine ? link.state_machine + ": " : "") + link.name),
    link.status ? [" ", statusChip(link.status)] : null);
}

function relatedSection(data) {
  // The run's other executions: who started this one, who carries it on, the parent of a Map Run child.
  const lines = [];
  if (data.carried_on_by) {
    lines.push(el("p", { id: "carried-on-by" }, "Carried on by ", executionLink(data.carried_on_by),
      ": this run handed its tasks over; that execution claims and invokes them, and its output is the run's report."));
  }
  if (data.started_by) lines.push(el("p", { id: "started-by" }, "Started by ", executionLink(data.started_by), "."));
  if (data.parent) {
    lines.push(el("p", { id: "parent-execution" }, "A child execution of the Map Run ", el("code", {}, data.map_run),
      " of ", executionLink(data.parent), "."));
  }
  return lines.length ? el("section", { id: "related" }, lines) : null;
}

// ---- one execution: the event history ------------------------------------------------------------------------------

function eventDetails(event) {
  const details = event.details || {};
  const keys = Object.keys(details);
  if (!keys.length) return "";
  const error = details.error !== undefined || details.cause !== undefined
    ? errorBlock(details.error, parseCause(details.cause), tracebackOf(details.cause)) : null;
  const rest = Object.fromEntries(keys.filter((key) => key !== "error" && key !== "cause").map((key) => [key, details[key]]));
  const summaryText = details.name !== undefined ? `${details.name}` + (details.index !== undefined ? ` #${details.index}` : "")
    : Object.keys(rest).join(", ");
  return [error, Object.keys(rest).length ? el("details", {}, el("summary", {}, summaryText || "details"),
    el("pre", {}, pretty(rest))) : null];
}

function parseCause(cause) {
  if (typeof cause !== "string") return cause;
  try { return JSON.parse(cause); } catch (error) { return cause; }
}

function tracebackOf(cause) {
  const value = parseCause(cause);
  if (!value || typeof value !== "object" || !Array.isArray(value.stackTrace)) return null;
  const frames = value.stackTrace.map((frame) => (String(frame).endsWith("\n") ? frame : frame + "\n")).join("");
  return `Traceback (most recent call last):\n${frames}${value.errorType || "Error"}: ${value.errorMessage || ""}`;
}

function eventRows(events) {
  return events.map((event) => el("tr", { "data-type": event.type, "data-id": event.id,
    class: /Failed|TimedOut|Aborted/.test(event.type) ? "bad-row" : null },
    el("td", { class: "num" }, event.id), el("td", {}, event.type), el("td", {}, event.state || ""),
    el("td", {}, when(event.time)), el("td", { class: "num" }, event.elapsed_ms === null ? "-" : number(event.elapsed_ms) + " ms"),
    el("td", { class: "json" }, eventDetails(event))));
}

async function historySection(arn, note) {
  const body = el("tbody", {});
  const status = el("span", { id: "events-count", class: "muted" });
  const more = el("button", { id: "events-more" }, "more events");
  let token = null;
  let loaded = 0;
  const load = async () => {
    const url = `/api/execution/events?arn=${encodeURIComponent(arn)}` + (token ? `&next_token=${token}` : "");
    const page = await getJson(url);
    body.append(...eventRows(page.events));
    loaded += page.events.length;
    token = page.next_token;
    status.textContent = `${number(loaded)} of ${plural(page.total, "event")}`;
    more.hidden = !token;
  };
  more.addEventListener("click", () => load().catch(failed));
  await load();
  return el("section", { id: "history" },
    el("h2", {}, "Event history ", status),
    note ? el("p", { class: "muted", id: "history-note" }, note) : null,
    scroll(el("table", { id: "events" },
      el("thead", {}, el("tr", {}, el("th", { class: "num" }, "id"), el("th", {}, "type"), el("th", {}, "state"),
        el("th", {}, "time"), el("th", { class: "num" }, "elapsed"), el("th", {}, "details"))),
      body)),
    more);
}

// ---- one execution -------------------------------------------------------------------------------------------------

async function executionView(arn) {
  const data = await getJson("/api/execution?arn=" + encodeURIComponent(arn));
  Object.assign(STATUS_NAMES, data.status_names || {});
  const graphHolder = el("div", { class: "graph-holder" });
  const detailHolder = el("div", { class: "detail" });
  const render = () => {
    graphHolder.replaceChildren(graphPanel(data, render));
    detailHolder.replaceChildren(stateDetail(selectedState, data.states));
  };
  render();
  const problem = data.error
    ? el("section", { id: "execution-error" }, el("h2", {}, "Error"), errorBlock(data.error, data.cause, data.traceback))
    : null;
  const problems = data.problems.length ? el("section", { id: "problems" },
    el("h2", {}, "What failed"),
    scroll(el("table", { id: "problems-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "state"), el("th", {}, "status"), el("th", {}, "where"), el("th", {}, "error"))),
      el("tbody", {}, data.problems.map((visit) => el("tr", { "data-state": visit.state, "data-status": visit.status },
        el("td", {}, el("a", { href: "javascript:void(0)", onclick: () => { selectedState = visit.state; render();
          document.getElementById("state-detail").scrollIntoView(); } }, visit.state)),
        el("td", {}, statusChip(visit.status)),
        el("td", { class: "wrap" }, visit.where || "top level"),
        el("td", { class: "json" }, errorBlock(visit.error, visit.cause, visit.traceback, null, true))))))),
    data.problems_total > data.problems.length ? el("p", { class: "muted" }, `the first ${data.problems.length} of ${data.problems_total}`) : null)
    : null;
  const output = data.no_output
    ? el("p", { id: "execution-output", class: "no-output" }, data.no_output)
    : el("pre", { id: "execution-output" }, pretty(data.output));
  const [iterations, history] = await Promise.all([iterationsSection(arn, data.iterations),
    historySection(arn, data.history_note)]);
  const handedReport = data.carried_on_by && data.carried_on_by.output && data.carried_on_by.output.labourers;
  show(
    el("p", {}, el("a", { href: "#/" }, "← executions")),
    el("h1", { class: "wrap" }, `${data.state_machine}: ${data.name}`),
    el("div", { class: "summary" },
      el("div", {}, el("b", {}, "status"), statusChip(data.status, "execution-status")),
      el("div", {}, el("b", {}, "started"), when(data.start)),
      el("div", {}, el("b", {}, "stopped"), when(data.stop)),
      el("div", {}, el("b", {}, "duration"), duration(data.seconds)),
      el("div", {}, el("b", {}, "history events"), data.events),
      data.map_run ? el("div", {}, el("b", {}, "Map Run"), data.map_run) : null),
    relatedSection(data),
    problem,
    handedReport ? reportTable(data.carried_on_by.output, data.carried_on_by) : reportTable(data.output),
    el("h2", {}, "State graph: the path taken, how often each state was entered, what failed"),
    el("div", { class: "layout" }, graphHolder, detailHolder),
    problems,
    iterations,
    mapRunsSection(data.map_runs),
    el("div", { class: "columns" },
      el("section", {}, el("h2", {}, "Input"), el("pre", { id: "execution-input" }, pretty(data.input))),
      el("section", {}, el("h2", {}, "Output"), output)),
    history);
  return data.status === "RUNNING" || Boolean(data.carried_on_by && data.carried_on_by.status === "RUNNING");
}

// ---- queues -------------------------------------------------------------------------------------------------------

const COUNTS = ["queued", "running", "failed", "expired", "completed", "retry_waiting", "closed_completed", "closed_dead"];

async function queuesView() {
  const data = await getJson("/api/queues");
  const rows = data.labourers.map((line) =>
    el("tr", { "data-labourer": line.labourer_id },
      el("td", {}, el("a", { href: "#/queue/" + encodeURIComponent(line.labourer_id) }, line.labourer_id)),
      el("td", { class: "num" }, line.cap),
      COUNTS.map((key) => el("td", { class: "num", "data-count": key }, number(line[key]))),
      el("td", { class: "health-" + line.health.status }, line.health_text)));
  show(
    el("h1", {}, "Queues"),
    data.error ? el("p", { class: "error" }, data.error) : null,
    scroll(el("table", { id: "queues" },
      el("thead", {}, el("tr", {}, el("th", {}, "labourer"), el("th", { class: "num" }, "cap"),
        COUNTS.map((key) => el("th", { class: "num" }, key.replace(/_/g, "-"))), el("th", {}, "health"))),
      el("tbody", {}, rows))),
    el("p", { class: "muted" }, "running: invoked, within duration + cooldown, not failed. failed: the current attempt " +
      "reported a failure; the next Scavenger run retries it or closes it as dead."));
  return true;
}

const TASK_KINDS = [
  ["queued", "Queued (next to run first)", ["attempts"]],
  ["running", "Running", ["invoked_at", "attempts"]],
  ["failed", "Failed this attempt (the Scavenger retries or closes them)", ["invoked_at", "failed_at", "attempts", "result_error_type", "result_error_message"]],
  ["expired", "Expired (the Scavenger retries or closes them)", ["invoked_at", "attempts"]],
  ["completed", "Completed (the Scavenger archives them)", ["completed_at", "attempts"]],
  ["retry_waiting", "Waiting for a retry (soonest first)", ["desired_launch_time", "attempts", "result_error_type", "result_error_message"]],
  ["closed_dead", "Closed as dead (newest first)", ["closed_at", "attempts", "close_reason", "result_error_type", "result_error_message"]],
  ["closed_completed", "Closed as completed (newest first)", ["closed_at", "attempts"]],
];
const TIMES = ["invoked_at", "failed_at", "completed_at", "desired_launch_time", "closed_at", "created_at"];

function taskCell(key, task) {
  const value = task[key];
  if (value === undefined || value === null) return "-";
  if (TIMES.includes(key)) return when(value);
  return String(value);
}

function taskTable(id, tasks, columns) {
  if (!tasks.length) return el("p", { id, class: "muted" }, "none");
  return scroll(el("table", { id, class: "tasks" },
    el("thead", {}, el("tr", {}, el("th", {}, "task id"), el("th", {}, "created"),
      columns.map((key) => el("th", { class: key === "attempts" ? "num" : null }, key.replace(/_/g, " ").replace(/ at$/, ""))),
      el("th", {}, "payload"))),
    el("tbody", {}, tasks.map((task) => el("tr", { "data-task": task.task_id },
      el("td", {}, el("a", { href: "#/task/" + encodeURIComponent(task.task_id) }, task.task_id)),
      el("td", {}, when(task.created_at)),
      columns.map((key) => el("td", { class: key === "attempts" ? "num" : key.startsWith("result_error") || key === "close_reason" ? "wrap" : null }, taskCell(key, task))),
      el("td", { class: "payload" }, (task.payload || "") + (task.payload_cut ? "…" : "")))))));
}

async function queueView(labourerId) {
  const data = await getJson("/api/queues/" + encodeURIComponent(labourerId));
  const line = data.labourer;
  show(
    el("p", {}, el("a", { href: "#/queues" }, "← queues")),
    el("h1", {}, "Queue: " + line.labourer_id),
    el("div", { class: "summary", id: "queue-counts" },
      el("div", {}, el("b", {}, "cap"), line.cap),
      COUNTS.map((key) => el("div", { "data-count": key }, el("b", {}, key.replace(/_/g, "-")), number(line[key]))),
      el("div", {}, el("b", {}, "health"), el("span", { class: "health-" + line.health.status }, line.health_text))),
    TASK_KINDS.map(([key, title, columns]) => el("section", { "data-kind": key },
      el("h2", {}, title, " ", el("span", { class: "muted" },
        line[key] !== undefined && line[key] > data.tasks[key].length ? `(${data.tasks[key].length} of ${number(line[key])} shown)` : "")),
      taskTable(key.replace(/_/g, "-"), data.tasks[key], columns))));
  return true;
}

// ---- a task -------------------------------------------------------------------------------------------------------

const WHERE_TEXT = { queued: "queued", running: "running", failed: "failed this attempt", expired: "expired",
  completed: "completed", retry_waiting: "waiting for a retry", closed_completed: "closed as completed",
  closed_dead: "closed as dead", unknown: "not found" };

async function taskView(taskId) {
  const data = await getJson("/api/task?id=" + encodeURIComponent(taskId));
  const task = data.task;
  show(
    el("h1", { class: "wrap" }, "Task " + data.task_id),
    el("p", {}, el("span", { id: "task-where", class: "where " + data.where, "data-where": data.where }, WHERE_TEXT[data.where] || data.where)),
    el("p", { id: "task-why" }, data.why),
    task ? el("p", {}, "Labourer: ", el("a", { href: "#/queue/" + encodeURIComponent(task.labourer_id) }, task.labourer_id)) : null,
    task ? scroll(el("table", { id: "task-fields" }, el("tbody", {},
      Object.entries(task).filter(([key]) => key !== "payload_cut").map(([key, value]) => el("tr", {},
        el("th", {}, key.replace(/_/g, " ")),
        el("td", { class: "wrap" }, TIMES.includes(key) ? `${when(value)} (${value})` : String(value))))))) : null);
  return data.where !== "closed_completed" && data.where !== "closed_dead";
}

// ---- routing ------------------------------------------------------------------------------------------------------

function routeFor(hash) {
  const path = hash.split("?")[0];
  if (path === "#/" || path === "" || path === "#") return executionsView;
  if (path.startsWith("#/execution/")) return () => executionView(decodeURIComponent(path.slice("#/execution/".length)));
  if (path.startsWith("#/queue/")) return () => queueView(decodeURIComponent(path.slice("#/queue/".length)));
  if (path.startsWith("#/task/")) return () => taskView(decodeURIComponent(path.slice("#/task/".length)));
  if (path === "#/queues") return queuesView;
  return null;
}

async function route() {
  clearTimeout(timer);
  const hash = location.hash || "#/";
  const view = routeFor(hash);
  document.getElementById("nav-executions").classList.toggle("active", hash === "#/" || hash.startsWith("#/?") || hash.startsWith("#/execution"));
  document.getElementById("nav-queues").classList.toggle("active", hash.startsWith("#/queue"));
  if (view === null) {
    notFound(`Nothing at ${hash}: the console has the executions (#/), one execution, the queues (#/queues), ` +
      "one queue and one task.");
    return;
  }
  let again = true;
  try {
    again = await view();
  } catch (error) {
    failed(error);
    again = false;
  }
  if (again && (location.hash || "#/") === hash) timer = setTimeout(route, REFRESH_MS);
}

let lastPath = null;
window.addEventListener("hashchange", () => {
  const path = location.hash.split("?")[0];
  if (path !== lastPath) { selectedState = null; iterationPath = []; zoom = null; }
  if (!(path === "#/" || path === "")) tokens = [];
  lastPath = path;
  route();
});
document.getElementById("task-search").addEventListener("submit", (event) => {
  event.preventDefault();
  const id = document.getElementById("task-search-id").value.trim();
  if (id) location.hash = "#/task/" + encodeURIComponent(id);
});
lastPath = (location.hash || "#/").split("?")[0];
route();
