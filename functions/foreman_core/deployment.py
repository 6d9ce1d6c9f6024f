"""What a Lambda step learns from its deployment: the table names the template gave it, and AWS clients."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import boto3

from foreman_core.config import Tables
from foreman_core.labourer_arns import LabourerArns


def deployed_tables(environ: Mapping[str, str] = os.environ) -> Tables:
    """The tables and the indexes the function may query, named by its environment (``TASKS_TABLE``,
    ``GREENFIELD_INDEX``...; ``environ``, this process's by default), sosw's names where unset."""
    defaults = Tables()
    return Tables(
        tasks=environ.get("TASKS_TABLE", defaults.tasks),
        greenfield_index=environ.get("GREENFIELD_INDEX", defaults.greenfield_index),
        closed=environ.get("CLOSED_TASKS_TABLE", defaults.closed),
        retry=environ.get("RETRY_TASKS_TABLE", defaults.retry),
        retry_index=environ.get("RETRY_INDEX", defaults.retry_index),
    )


def deployed_labourer_arns(function_arn: str, environ: Mapping[str, str] = os.environ) -> LabourerArns | None:
    """The stack's ``LabourerArns`` from LoadConfig's environment (``LABOURER_ARNS``), ``None`` where unset;
    ``function_arn`` is LoadConfig's own ARN (where a bare function name in the config points)."""
    allowed = environ.get("LABOURER_ARNS")
    if allowed is None:
        return None
    return LabourerArns.of(allowed, function_arn=function_arn)


class Clients:
    """Low-level boto3 clients, each created on first use (never at import) and then reused while warm."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service)
        return self._clients[service]
