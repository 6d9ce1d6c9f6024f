"""ComputeEcology: each labourer's health, running tasks and desired number of invocations."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import run, telemetry
from foreman_core.config import parse_config
from foreman_core.deployment import Clients
from foreman_core.task_store import TaskStore

logger = Logger()
tracer = Tracer()
clients = Clients()


@telemetry.lambda_step(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: LoadConfig's output."""
    store = TaskStore.for_config(clients("dynamodb"), parse_config(event["config"]))
    state = run.compute_ecology(event, cloudwatch=clients("cloudwatch"), store=store)
    for entry in state["labourers"]:
        logger.info(
            "ecology",
            extra={key: entry[key] for key in ("labourer_id", "status", "running", "cap", "desired", "queue")},
        )
    return state
