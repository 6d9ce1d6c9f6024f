"""What an AWS error says: the one place Foreman reads a ``botocore`` ``ClientError``'s code."""

from __future__ import annotations

from botocore.exceptions import ClientError

CONDITION_FAILED = "ConditionalCheckFailedException"
"""DynamoDB's answer to a write whose ``ConditionExpression`` did not hold."""


def error_code(error: ClientError) -> str:
    """The error's code (``"ConditionalCheckFailedException"``, ``"ThrottlingException"``...), ``""`` if it has none."""
    return str(error.response.get("Error", {}).get("Code", "") or "")


def condition_failed(error: ClientError) -> bool:
    """Whether a DynamoDB write was refused by its condition (a lost race, not a fault)."""
    return error_code(error) == CONDITION_FAILED
