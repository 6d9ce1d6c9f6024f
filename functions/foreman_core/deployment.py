"""What a Lambda step learns from its deployment: the table names the template gave it, and AWS clients."""

from __future__ import annotations

import os
from typing import Any

import boto3

from foreman_core.config import Tables


def deployed_tables() -> Tables:
    """The tables named by the function's environment (``TASKS_TABLE``...), sosw's names where unset."""
    defaults = Tables()
    return Tables(
        tasks=os.environ.get("TASKS_TABLE", defaults.tasks),
        closed=os.environ.get("CLOSED_TASKS_TABLE", defaults.closed),
        retry=os.environ.get("RETRY_TASKS_TABLE", defaults.retry),
    )


class Clients:
    """Low-level boto3 clients, each created on first use (never at import) and then reused while warm."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service)
        return self._clients[service]
