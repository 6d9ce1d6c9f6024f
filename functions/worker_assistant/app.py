"""WorkerAssistant: sosw-compatible completion reports from workers (``mark_task_as_completed`` /
``mark_task_as_failed``), written conditionally: no ghost items, late reports refused and logged."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import completion, telemetry
from foreman_core.deployment import Clients, deployed_tables
from foreman_core.task_store import TaskStore

logger = Logger()
tracer = Tracer()
clients = Clients()


@telemetry.lambda_step(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: sosw's ``{"action", "task_id", "stats"?, "result"?}`` (Foreman callers may add ``attempt`` and
    ``labourer_id``). Returns the outcome (``accepted``, ``late``, ``reason``, ``where``); sosw's Worker invokes with
    ``InvocationType: Event`` and ignores it. An unknown action or a missing ``task_id`` raises, as in sosw."""
    request = completion.from_worker_assistant_event(event)
    store = TaskStore(clients("dynamodb"), deployed_tables())
    return completion.record_and_log(store, request, logger)
