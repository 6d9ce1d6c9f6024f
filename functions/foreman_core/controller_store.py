"""Where target tracking keeps its state between runs: one small item per labourer in the coordination table.

The item's ``pk`` is ``controller#<labourer_id>`` (``controller_key``), beside the Orchestrator lease in Foreman's own
coordination table, never in sosw's tables. Only the execution holding the lease steps the controllers (a busy run
reads and writes nothing), and every write is conditional on the run's start being later than the stored one: a
retried ComputeEcology, or a run that lost its lease to an expiry and came late, cannot apply a step twice or undo a
newer one. It then uses the state stored by the run that won. A run costs one ``BatchGetItem`` for all its
target-tracking labourers (per 100) and one conditional ``PutItem`` per target-tracking labourer.

The DynamoDB client is passed in by the caller; this module creates none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from foreman_core.aws_errors import condition_failed
from foreman_core.config import Labourer
from foreman_core.metrics import FetchedValue
from foreman_core.target_tracking import ControllerState, Decision, Reading, TargetTracking, initial_state, step

KEY_PREFIX = "controller#"
BATCH_GET_LIMIT = 100
"""BatchGetItem reads at most 100 keys per call."""

MAX_UNPROCESSED_ROUNDS = 5
"""How often keys DynamoDB left unprocessed (throttling) are asked again before they count as never stepped."""

SAVE_CONDITION = "attribute_not_exists(pk) OR run_start < :run_start"
"""Only a later run may overwrite a step: never twice the same run, never an older run over a newer one."""


def controller_key(labourer_id: str) -> str:
    """The controller item's ``pk`` for ``labourer_id``."""
    return f"{KEY_PREFIX}{labourer_id}"


@dataclass(frozen=True)
class StoredController:
    """A controller item as stored: the state, and what the run that wrote it saw (for ``foreman status``)."""

    labourer_id: str
    state: ControllerState
    run_start: int
    execution: str | None
    reason: str | None
    allowed: int | None
    reading: float | None
    target: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "labourer_id": self.labourer_id,
            **self.state.to_dict(),
            "whole": self.allowed,
            "run_start": self.run_start,
            "execution": self.execution,
            "reason": self.reason,
            "reading": self.reading,
            "target": self.target,
        }


class ControllerStore:
    """The controllers' items in ``table`` (the coordination table, key attribute ``pk`` of type S)."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def load(self, labourer_ids: Iterable[str]) -> dict[str, StoredController]:
        """The stored controllers of ``labourer_ids`` (those never stepped are missing). One BatchGetItem per 100."""
        ids = list(dict.fromkeys(labourer_ids))
        found: dict[str, StoredController] = {}
        for offset in range(0, len(ids), BATCH_GET_LIMIT):
            keys: list[dict[str, Any]] = [
                {"pk": {"S": controller_key(i)}} for i in ids[offset : offset + BATCH_GET_LIMIT]
            ]
            for _ in range(MAX_UNPROCESSED_ROUNDS):
                response = self.client.batch_get_item(RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}})
                for item in response.get("Responses", {}).get(self.table, []):
                    stored = from_item(item)
                    found[stored.labourer_id] = stored
                keys = response.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                if not keys:
                    break
        return found

    def save(
        self,
        labourer_id: str,
        decision: Decision,
        *,
        config: TargetTracking,
        run_start: int,
        execution: str | None,
    ) -> StoredController | None:
        """Store ``decision``'s state for the run started at ``run_start``. ``None``: stored; otherwise a run with the
        same or a later start stored first, and this is its item (the caller uses it instead)."""
        item: dict[str, Any] = {
            "pk": {"S": controller_key(labourer_id)},
            "allowed": {"N": repr(float(decision.state.allowed))},
            "load": {"N": str(decision.state.load)},
            "whole": {"N": str(decision.allowed)},
            "run_start": {"N": str(int(run_start))},
            "reason": {"S": decision.reason},
            "metric": {"S": config.metric},
            "target": {"N": repr(float(config.target))},
        }
        if decision.state.datapoint is not None:
            item["datapoint"] = {"N": repr(float(decision.state.datapoint))}
        if decision.reading is not None:
            item["reading"] = {"N": repr(float(decision.reading))}
        if execution:
            item["execution"] = {"S": execution}
        try:
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=SAVE_CONDITION,
                ExpressionAttributeValues={":run_start": {"N": str(int(run_start))}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            return from_item(error.response.get("Item") or item)
        return None


def from_item(item: Mapping[str, Any]) -> StoredController:
    """A ``StoredController`` from a DynamoDB item (low-level attribute values)."""

    def number(name: str) -> float | None:
        value = item.get(name, {}).get("N")
        return None if value is None else float(value)

    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return None if value is None else str(value)

    whole = number("whole")
    return StoredController(
        labourer_id=str(item["pk"]["S"]).removeprefix(KEY_PREFIX),
        state=ControllerState(
            allowed=number("allowed") or 0.0, datapoint=number("datapoint"), load=int(number("load") or 0)
        ),
        run_start=int(number("run_start") or 0),
        execution=text("execution"),
        reason=text("reason"),
        allowed=None if whole is None else int(whole),
        reading=number("reading"),
        target=number("target"),
    )


def track(
    labourer: Labourer,
    fetched: FetchedValue | None,
    *,
    stored: StoredController | None,
    store: ControllerStore | None,
    running: int,
    now: float,
    run_start: int,
    execution: str | None,
) -> dict[str, Any]:
    """Step ``labourer``'s controller for this run and store its state; the report for the run's output.

    ``fetched``: the tracked metric's value (``None``: not fetched, a failed read). ``stored``: its state from
    ``ControllerStore.load`` (``None``: never stepped, it starts at its floor). ``store`` ``None`` steps without
    storing (``stored`` is ``False`` in the report). The report's ``allowed`` is the whole number of tasks the
    labourer may have running now; when another run stored a step for the same or a later start first, it is that
    run's (``reason`` ``superseded``).
    """
    config = labourer.target_tracking
    metric = labourer.tracked_metric()
    if config is None or metric is None:
        raise ValueError(f"labourer {labourer.id!r} has no target tracking")
    state = stored.state if stored is not None else initial_state(config)
    if fetched is None:
        reading = Reading(None, None, "NotFetched: no value for this metric")
    else:
        reading = Reading(fetched.latest, fetched.timestamp, fetched.error)
    cap = labourer.max_simultaneous_invocations
    decision = step(config, state, reading=reading, running=running, cap=cap, now=now, period=metric.query.period)
    report: dict[str, Any] = {
        "metric": config.metric,
        "target": config.target,
        "direction": config.direction.value,
        **decision.to_dict(),
        "error": reading.error,
        "stored": store is not None,
    }
    if store is None:
        return report
    winner = store.save(labourer.id, decision, config=config, run_start=run_start, execution=execution)
    if winner is not None:
        report.update(
            allowed=winner.allowed if winner.allowed is not None else decision.allowed,
            allowance=round(winner.state.allowed, 3),
            reason="superseded",
            stored=False,
            superseded_by=winner.execution,
        )
    return report
