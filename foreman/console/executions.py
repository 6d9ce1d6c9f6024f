"""Every execution of the console's state machines, kept up to date in a few calls, and paged for the list.

The Step Functions console pages ``ListExecutions`` itself; this console does too, and also says how many there are
and what each run did. So ``ExecutionIndex`` keeps every execution it has seen: a refresh lists each state machine's
executions newest first and stops at the first one it already knows as ended (every older one is known too), then
describes the few it knew as running and did not see again. A run at ``--every 5`` for a day is 17,000 executions:
the first refresh reads them in pages of 1,000, every later one a page.

What a run did (``summary``: "invoked 4, released 2", or its error) comes from its output, described once per ended
execution and kept: an ended execution never changes. An Orchestrator run with tasks to invoke hands them to its
Invocations execution (its output names it, ``invocations``), whose output is the run's report: its row says what
that execution's report says (``handed_to``: the Invocations execution), or, while it runs, that it handed over.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from foreman.history import decode, timestamp

PAGE = 1000
"""``ListExecutions``' largest page."""
ORCHESTRATOR_FIELDS = ("invoked", "released", "failed", "skipped", "set_aside", "deferred")
SCAVENGER_FIELDS = ("archived", "retried", "requeued", "dead")


@dataclass
class _Known:
    arn: str
    name: str
    state_machine: str
    status: str
    start: float | None
    stop: float | None
    map_run: str | None = None

    def row(self) -> dict[str, Any]:
        return {
            "state_machine": self.state_machine,
            "arn": self.arn,
            "name": self.name,
            "status": self.status,
            "start": self.start,
            "stop": self.stop,
            "seconds": (self.stop - self.start) if self.start is not None and self.stop is not None else None,
        }


@dataclass
class ExecutionIndex:
    """The executions of ``state_machines`` (name to ARN), read through ``client("stepfunctions")``."""

    client: Callable[[str], Any]
    state_machines: Mapping[str, str]
    _known: dict[str, dict[str, _Known]] = field(default_factory=dict)
    _summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self) -> None:
        """Read what changed since the last refresh."""
        sfn = self.client("stepfunctions")
        with self._lock:
            for name, arn in self.state_machines.items():
                known = self._known.setdefault(name, {})
                seen: set[str] = set()
                request: dict[str, Any] = {"stateMachineArn": arn, "maxResults": 100 if known else PAGE}
                while True:
                    page = sfn.list_executions(**request)
                    reached_known = False
                    for item in page.get("executions", []):
                        before = known.get(item["executionArn"])
                        if before is not None and before.status != "RUNNING" and item["status"] == before.status:
                            reached_known = True
                            continue
                        known[item["executionArn"]] = _entry(item, name)
                        seen.add(item["executionArn"])
                    token = page.get("nextToken")
                    if reached_known or not token:
                        break
                    request = {"stateMachineArn": arn, "maxResults": PAGE, "nextToken": token}
                for entry in [entry for entry in known.values() if entry.status == "RUNNING" and entry.arn not in seen]:
                    described = sfn.describe_execution(executionArn=entry.arn)
                    known[entry.arn] = _entry(described, name)

    def page(
        self,
        *,
        state_machine: str | None = None,
        status: str | None = None,
        next_token: str | None = None,
        limit: int = 50,
    ) -> dict[str, Any]:
        """One page of executions, newest first, with how many there are (``total`` under the filters, ``counts``
        per status and ``machines`` per state machine) and the ``next_token`` of the next page (``None``: the last).
        The token names the last execution shown, so a page never repeats nor skips one as new runs start."""
        self.refresh()
        with self._lock:
            entries = [
                entry
                for name, known in self._known.items()
                if state_machine in (None, "", name)
                for entry in known.values()
            ]
            machines = {name: len(known) for name, known in self._known.items()}
        counts: dict[str, int] = {}
        for entry in entries:
            counts[entry.status] = counts.get(entry.status, 0) + 1
        if status:
            entries = [entry for entry in entries if entry.status == status]
        entries.sort(key=lambda entry: (entry.start or 0.0, entry.arn), reverse=True)
        after = _decode_token(next_token)
        if after is not None:
            entries = [entry for entry in entries if (entry.start or 0.0, entry.arn) < after]
        shown, rest = entries[:limit], entries[limit:]
        rows = [{**entry.row(), **self.summary(entry)} for entry in shown]
        last = shown[-1] if shown else None
        return {
            "total": sum(counts.values()) if not status else counts.get(status, 0),
            "counts": counts,
            "machines": machines,
            "executions": rows,
            "next_token": _encode_token(last) if rest and last is not None else None,
        }

    def summary(self, entry: _Known) -> dict[str, Any]:
        """What an ended run did, from its output (``summary``) or its error (``error``); ``{}`` while it runs."""
        if entry.status == "RUNNING":
            return {}
        kept = self._summaries.get(entry.arn)
        if kept is None:
            sfn = self.client("stepfunctions")
            described = sfn.describe_execution(executionArn=entry.arn)
            output = decode(described.get("output"))
            handed_to = output.get("invocations") if isinstance(output, Mapping) else None
            if isinstance(handed_to, str) and ":execution:" in handed_to:
                return self._handed_over(handed_to, entry.arn)
            kept = {"summary": run_summary(output), "error": described.get("error")}
            self._summaries[entry.arn] = kept
        return kept

    def _handed_over(self, invocations: str, arn: str) -> dict[str, Any]:
        """An Orchestrator run that handed its tasks over: its Invocations execution's report (kept once that one has
        ended), or, while it runs, that it handed over."""
        try:
            described = self.client("stepfunctions").describe_execution(executionArn=invocations)
        except Exception:  # gone (expired): the row says where it went
            return {"summary": {}, "error": None, "handed_to": invocations, "handed_status": None}
        status = str(described.get("status", ""))
        found = {
            "summary": run_summary(decode(described.get("output"))),
            "error": described.get("error"),
            "handed_to": invocations,
            "handed_status": status,
        }
        if status != "RUNNING":
            self._summaries[arn] = found
        return found


def _entry(item: Mapping[str, Any], state_machine: str) -> _Known:
    return _Known(
        arn=str(item["executionArn"]),
        name=str(item.get("name", "")),
        state_machine=state_machine,
        status=str(item.get("status", "")),
        start=timestamp(item.get("startDate")),
        stop=timestamp(item.get("stopDate")),
        map_run=item.get("mapRunArn"),
    )


def run_summary(output: Any) -> dict[str, int]:
    """The non-zero counts of a run's output: the Orchestrator's ``totals`` (invoked, released, failed...), the
    Scavenger's per-labourer lines added up (archived, retried, requeued, dead)."""
    if not isinstance(output, Mapping):
        return {}
    totals = output.get("totals")
    if isinstance(totals, Mapping):
        return {key: int(totals[key]) for key in ORCHESTRATOR_FIELDS if _number(totals.get(key))}
    lines = output.get("labourers")
    if isinstance(lines, list):
        summed: dict[str, int] = {}
        for line in lines:
            if isinstance(line, Mapping):
                for key in SCAVENGER_FIELDS:
                    if _number(line.get(key)):
                        summed[key] = summed.get(key, 0) + int(line[key])
        return summed
    return {}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value != 0


def _encode_token(entry: _Known) -> str:
    text = json.dumps([entry.start or 0.0, entry.arn])
    return base64.urlsafe_b64encode(text.encode()).decode()


def _decode_token(token: str | None) -> tuple[float, str] | None:
    if not token:
        return None
    try:
        start, arn = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
        return float(start), str(arn)
    except (ValueError, TypeError):
        raise InvalidTokenError(f"not a next_token of this console: {token!r}") from None


class InvalidTokenError(ValueError):
    """A ``next_token`` this console did not hand out."""
