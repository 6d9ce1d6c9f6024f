"""FetchGreenfieldTasks: the ids of the oldest queued tasks each labourer may start now."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import run, telemetry
from foreman_core.config import read_back
from foreman_core.deployment import Clients
from foreman_core.task_store import TaskStore

logger = Logger()
tracer = Tracer()
clients = Clients()


@telemetry.lambda_step(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: ComputeEcology's output."""
    store = TaskStore.for_config(clients("dynamodb"), read_back(event["config"]))
    state = run.fetch_greenfield_tasks(event, store=store)
    for entry in state["labourers"]:
        logger.info(
            "fetched",
            extra={"labourer_id": entry["labourer_id"], "budget": entry["budget"], "fetched": len(entry["tasks"])},
        )
        for task in entry["set_aside"]:
            logger.warning("task set aside", extra={"labourer_id": entry["labourer_id"], **task})
    return state
