"""The Orchestrator lease: at most one execution at a time counts running tasks and claims, so the cap holds.

Two executions that both count a labourer's running tasks before either claims would each fill the same free slots
(measured without the lease: 10 staggered executions put 19-20 tasks in flight for a cap of 10). So ComputeEcology
takes the deployment's one lease before it counts anything, and the ``ReturnLease`` state gives it back once every
claim of the run is made. An execution that cannot take it invokes nothing and reports every labourer as ``busy``,
naming the execution that holds it.

The lease is one item in the coordination table (``pk`` = ``LEASE_KEY``), never in sosw's tables, taken with one
conditional UpdateItem and given back with one conditional DeleteItem: 2 calls per run, whatever the number of
labourers. It is taken for ``seconds``, which the template sets above the Orchestrator's ``TimeoutSeconds``: an
execution cannot still be claiming when its lease expires (it would have timed out first), and a lease that is never
given back (the execution failed or was stopped) blocks the next runs for at most ``seconds``.

The DynamoDB client is passed in by the caller; this module creates none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from foreman_core.aws_errors import condition_failed

LEASE_KEY = "orchestrator-lease"
"""The lease item's ``pk`` in the coordination table."""

TAKE_UPDATE = "SET #execution = :execution, expires_at = :expires_at, taken_at = :now"
TAKE_CONDITION = "attribute_not_exists(#execution) OR expires_at < :now OR #execution = :execution"
"""Free, expired, or already ours (a retried ComputeEcology takes its own lease again)."""

RETURN_CONDITION = "#execution = :execution"
"""Give back only our own lease: after an expiry another execution may hold it."""

NAMES = {"#execution": "execution"}


@dataclass(frozen=True)
class LeaseOutcome:
    """What ``take`` found. ``held``: this execution holds the lease until ``expires_at`` (epoch seconds); otherwise
    ``holder`` holds it until ``expires_at``."""

    held: bool
    execution: str
    expires_at: float
    holder: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, carried in the run's state as ``lease`` (the ``ReturnLease`` state reads ``held``)."""
        return {
            "held": self.held,
            "execution": self.execution,
            "holder": self.execution if self.held else self.holder,
            "expires_at": self.expires_at,
        }


def take(client: Any, table: str, *, execution: str, now: float, seconds: int) -> LeaseOutcome:
    """Take the lease for ``execution`` until ``now + seconds``, or learn who holds it. One conditional UpdateItem."""
    expires_at = int(now) + seconds
    try:
        client.update_item(
            TableName=table,
            Key={"pk": {"S": LEASE_KEY}},
            UpdateExpression=TAKE_UPDATE,
            ConditionExpression=TAKE_CONDITION,
            ExpressionAttributeNames=NAMES,
            ExpressionAttributeValues={
                ":execution": {"S": execution},
                ":expires_at": {"N": str(expires_at)},
                ":now": {"N": str(int(now))},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if not condition_failed(error):
            raise
        item = error.response.get("Item") or {}
        holder = item.get("execution", {}).get("S")
        held_until = float(item.get("expires_at", {}).get("N", 0))
        return LeaseOutcome(held=False, execution=execution, expires_at=held_until, holder=holder)
    return LeaseOutcome(held=True, execution=execution, expires_at=float(expires_at))


def give_back(client: Any, table: str, *, execution: str) -> bool:
    """Give the lease back if ``execution`` still holds it (``False``: it did not, nothing was written). The state
    machine's ``ReturnLease`` state does the same write; this is for a step that fails after taking it."""
    try:
        client.delete_item(
            TableName=table,
            Key={"pk": {"S": LEASE_KEY}},
            ConditionExpression=RETURN_CONDITION,
            ExpressionAttributeNames=NAMES,
            ExpressionAttributeValues={":execution": {"S": execution}},
        )
    except ClientError as error:
        if condition_failed(error):
            return False
        raise
    return True
