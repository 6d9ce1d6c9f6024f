"""The Orchestrator lease: at most one run at a time counts running tasks and claims, so the cap holds.

Two runs that both count a labourer's running tasks before either claims would each fill the same free slots
(measured without the lease: 10 staggered executions put 19-20 tasks in flight for a cap of 10). So ComputeEcology
takes the lease before it counts anything, and Summarize gives it back once every claim of the run is made. A run that
cannot take it invokes nothing and reports every labourer as ``busy``, naming the execution that holds it.

**Where it lives.** The lease is one item of the tasks table itself (``task_id`` = ``LEASE_KEY``; it has no
``labourer_id`` nor ``greenfield``, so no index of sosw's or Foreman's ever sees it): it lives with what it protects.
Two Foreman deployments on the same tables share it, so together they keep each labourer's cap instead of each
filling it.

**Whose it is.** Its owner is the run's id (``run_clock.new_run_id``), never the execution's: an Express execution
that runs twice under one name, or a redriven one, cannot pass for the run that took it.

**Which runs finished.** A claim marks its task with the run's id and nothing more is written per task after the
invoke. Instead, a run that reaches Summarize records itself as finished in the lease item (``finished``: run id ->
when, and the labourers whose iteration failed as a whole), pruned to the last ``keep_seconds``. A task found expired
with the mark of a run that is not recorded there (stopped, timed out, failed or redriven before it finished) may
never have been sent: the Scavenger requeues it without spending its attempt (``FinishedRuns``).

**What the next holder learns.** The running count reads the greenfield index, which is eventually consistent: just
after a run gives the lease back, the index may not show its last claims yet. So giving it back records the tasks the
run left claimed, by id per labourer (``last_claims``, under its id ``last_run``); the next run reads that record as it
takes the lease (``LeaseOutcome.previous``), and a claimed task its index query does not show is read from the table
itself, strongly consistent, and counted if it is still running (``TaskStore.count_running``). Older runs' claims
are a whole run older than that: under normal conditions the index has them. A record older than ``SETTLE_SECONDS``
is not used.

It is taken for ``seconds``, which the template sets above the Orchestrator's ``TimeoutSeconds``: a run cannot still be
claiming when its lease expires (it stops claiming at its claim deadline and times out before then), and a lease that
is never given back (the run failed or was stopped) blocks the next runs for at most ``seconds``, after which its
claims are old enough for the index to show them.

The DynamoDB client is passed in by the caller; this module creates none. 1 UpdateItem to take, 1 to give back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from foreman_core.aws_errors import condition_failed

LEASE_KEY = "foreman#orchestrator-lease"
"""The lease item's ``task_id`` in the tasks table (``#`` keeps it apart from any id Foreman or sosw makes)."""

TAKE_UPDATE = (
    "SET #run = :run, #execution = :execution, expires_at = :expires_at, taken_at = :now, "
    "finished = if_not_exists(finished, :none)"
)
TAKE_CONDITION = "attribute_not_exists(#run) OR expires_at < :now OR #run = :run"
"""Free, expired, or already ours (a retried ComputeEcology takes its own lease again)."""

RETURN_UPDATE = (
    "SET last_run = :run, last_claims = :claims, last_claims_unknown = :unknown, returned_at = :now "
    "REMOVE #run, #execution, expires_at"
)
FINISHED_RETURN_UPDATE = (
    "SET last_run = :run, last_claims = :claims, last_claims_unknown = :unknown, returned_at = :now, "
    "finished.#this = :record REMOVE #run, #execution, expires_at"
)
RETURN_CONDITION = "#run = :run"
"""Give back only our own lease (after an expiry another run may hold it), leaving the record of our claims; a run that
finished (Summarize) records itself in ``finished`` too (``FINISHED_RETURN_UPDATE``)."""

SETTLE_SECONDS = 10
"""How long after a run gave the lease back its record still counts: DynamoDB propagates a write to a global
secondary index "within a fraction of a second" under normal conditions (its developer guide); a run taking the lease
later than this trusts the index alone (a scheduled run comes a minute after the last, whose record no longer adds
anything, so completed and archived claims are not counted twice)."""

PRUNE_BATCH = 50
"""Finished records removed per UpdateItem when pruning."""

NAMES = {"#run": "run", "#execution": "execution"}


@dataclass(frozen=True)
class FinishedRuns:
    """The runs recorded as finished (``run id -> labourers whose iteration failed as a whole``), as read from the
    lease item. ``sent(mark, labourer)``: whether the run that marked a claim of ``labourer`` went on to send it
    (or decide it was not to be sent)."""

    runs: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def sent(self, run: str, labourer_id: str) -> bool:
        broken = self.runs.get(run)
        return broken is not None and labourer_id not in broken


RECORDED_ID_BYTES = 100_000
"""The most bytes of task ids a returned lease records (``last_claims``); past it, a labourer's further claims are
recorded as a count (``last_claims_unknown``), which the next holder adds to its running count as they are."""


@dataclass(frozen=True)
class ClaimsLeft:
    """What a run left claimed: per labourer the ids of its claimed tasks, and a count of claims whose ids are not
    known (a labourer whose iteration failed as a whole: it may have claimed every task it was given)."""

    ids: Mapping[str, Sequence[str]] = field(default_factory=dict)
    unknown: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PreviousHolder:
    """The run that gave the lease back last, and what it left claimed per labourer (``ClaimsLeft``)."""

    run: str
    claims: ClaimsLeft = field(default_factory=ClaimsLeft)


@dataclass(frozen=True)
class LeaseOutcome:
    """What ``take`` found. ``held``: this run holds the lease until ``expires_at`` (epoch seconds); otherwise
    ``holder`` (an execution ARN) holds it until ``expires_at``. ``previous``: the last run that gave it back (only
    when held)."""

    held: bool
    execution: str
    expires_at: float
    holder: str | None = None
    run: str | None = None
    previous: PreviousHolder | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, carried in the run's state as ``lease`` (Summarize reads ``held`` and ``run``)."""
        result: dict[str, Any] = {
            "held": self.held,
            "execution": self.execution,
            "holder": self.execution if self.held else self.holder,
            "expires_at": self.expires_at,
        }
        if self.held and self.run is not None:
            result["run"] = self.run
        return result


def lease_key() -> dict[str, dict[str, str]]:
    """The lease item's key in the tasks table."""
    return {"task_id": {"S": LEASE_KEY}}


def take(client: Any, table: str, *, run: str, execution: str, now: float, seconds: int) -> LeaseOutcome:
    """Take the lease in tasks table ``table`` for ``run`` (of ``execution``) until ``now + seconds``, or learn who
    holds it. One conditional UpdateItem, which also returns the previous holder's record."""
    expires_at = int(now) + seconds
    try:
        response = client.update_item(
            TableName=table,
            Key=lease_key(),
            UpdateExpression=TAKE_UPDATE,
            ConditionExpression=TAKE_CONDITION,
            ExpressionAttributeNames=NAMES,
            ExpressionAttributeValues={
                ":run": {"S": run},
                ":execution": {"S": execution},
                ":expires_at": {"N": str(expires_at)},
                ":now": {"N": str(int(now))},
                ":none": {"M": {}},
            },
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if not condition_failed(error):
            raise
        item = error.response.get("Item") or {}
        holder = item.get("execution", {}).get("S") or item.get("run", {}).get("S")
        held_until = float(item.get("expires_at", {}).get("N", 0))
        return LeaseOutcome(held=False, execution=execution, expires_at=held_until, holder=holder)
    previous = _previous(response.get("Attributes") or {}, run, now=now)
    return LeaseOutcome(held=True, execution=execution, expires_at=float(expires_at), run=run, previous=previous)


def give_back(
    client: Any,
    table: str,
    *,
    run: str,
    now: float,
    claims: ClaimsLeft | None = None,
    finished: Sequence[str] | None = None,
    keep_seconds: float | None = None,
) -> bool:
    """Give the lease back if ``run`` still holds it, recording ``claims`` (what this run left claimed; ``None``:
    nothing), the ids within ``RECORDED_ID_BYTES``. ``finished`` (the labourers whose iteration failed as a whole,
    often empty): the run finished and records itself so; ``None``: it did not (it failed before claiming, or was
    redriven).
    Records older than ``keep_seconds`` are then pruned. ``False``: it did not hold the lease; nothing was written."""
    ids, unknown = _recorded(claims or ClaimsLeft())
    values: dict[str, Any] = {
        ":run": {"S": run},
        ":claims": {"M": {lab: {"L": [{"S": task_id} for task_id in task_ids]} for lab, task_ids in ids.items()}},
        ":unknown": {"M": {lab: {"N": str(count)} for lab, count in unknown.items()}},
        ":now": {"N": str(int(now))},
    }
    names = dict(NAMES)
    update = RETURN_UPDATE
    if finished is not None:
        update = FINISHED_RETURN_UPDATE
        names["#this"] = run
        values[":record"] = {"M": {"at": {"N": str(int(now))}, "broken": {"L": [{"S": lab} for lab in finished]}}}
    try:
        response = client.update_item(
            TableName=table,
            Key=lease_key(),
            UpdateExpression=update,
            ConditionExpression=RETURN_CONDITION,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if condition_failed(error):
            return False
        raise
    if keep_seconds is not None:
        _prune(client, table, response.get("Attributes", {}).get("finished", {}).get("M", {}), now - keep_seconds)
    return True


def _recorded(claims: ClaimsLeft) -> tuple[dict[str, list[str]], dict[str, int]]:
    """The ids to record (within ``RECORDED_ID_BYTES``) and the counts of the rest, per labourer."""
    ids: dict[str, list[str]] = {}
    unknown = {lab: count for lab, count in claims.unknown.items() if count > 0}
    room = RECORDED_ID_BYTES
    for lab, task_ids in claims.ids.items():
        for task_id in task_ids:
            size = len(task_id.encode("utf-8"))
            if size <= room:
                ids.setdefault(lab, []).append(task_id)
                room -= size
            else:
                unknown[lab] = unknown.get(lab, 0) + 1
    return ids, unknown


def read_finished(client: Any, table: str) -> FinishedRuns:
    """The finished runs recorded in the lease item of tasks table ``table`` (one consistent GetItem)."""
    item = client.get_item(
        TableName=table,
        Key=lease_key(),
        ConsistentRead=True,
        ProjectionExpression="finished",
    ).get("Item", {})
    runs: dict[str, frozenset[str]] = {}
    for run, record in item.get("finished", {}).get("M", {}).items():
        broken = record.get("M", {}).get("broken", {}).get("L", [])
        runs[run] = frozenset(value.get("S", "") for value in broken)
    return FinishedRuns(runs)


def _prune(client: Any, table: str, records: Mapping[str, Any], before: float) -> None:
    """Remove the finished records older than ``before`` (a few UpdateItems; unconditional, so a removal that races
    another run's is harmless)."""
    old = [run for run, record in records.items() if float(record.get("M", {}).get("at", {}).get("N", "0")) < before]
    for offset in range(0, len(old), PRUNE_BATCH):
        batch = old[offset : offset + PRUNE_BATCH]
        names = {f"#r{index}": run for index, run in enumerate(batch)}
        client.update_item(
            TableName=table,
            Key=lease_key(),
            UpdateExpression="REMOVE " + ", ".join(f"finished.{name}" for name in names),
            ExpressionAttributeNames=names,
        )


def _previous(item: Mapping[str, Any], run: str, *, now: float) -> PreviousHolder | None:
    """The previous holder's record in the lease item as it was before ``run`` took it at ``now`` (``None``: no
    record, or given back ``SETTLE_SECONDS`` or more ago: the index has its claims by then)."""
    last = item.get("last_run", {}).get("S")
    if not last or last == run:
        return None
    try:
        returned_at = float(item.get("returned_at", {}).get("N", "0"))
    except ValueError:
        returned_at = 0.0
    if now - returned_at >= SETTLE_SECONDS:
        return None
    ids = {
        lab: tuple(value.get("S", "") for value in entry.get("L", []) if value.get("S"))
        for lab, entry in item.get("last_claims", {}).get("M", {}).items()
    }
    unknown: dict[str, int] = {}
    for lab, value in item.get("last_claims_unknown", {}).get("M", {}).items():
        try:
            unknown[lab] = int(value.get("N", "0"))
        except ValueError:  # a hand-edited record: ignore the entry, never fail the run over it
            continue
    return PreviousHolder(run=last, claims=ClaimsLeft(ids=ids, unknown=unknown))
