"""FetchGreenfieldTasks: the ids of the oldest queued tasks each labourer may start now."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from foreman_core import run
from foreman_core.config import parse_config
from foreman_core.deployment import Clients
from foreman_core.task_store import TaskStore

logger = Logger()
clients = Clients()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: ComputeEcology's output."""
    logger.append_keys(execution=event["run"]["execution"])
    config = parse_config(event["config"])
    store = TaskStore(clients("dynamodb"), config.tables, delta=config.greenfield_invocation_delta)
    state = run.fetch_greenfield_tasks(event, store=store)
    for entry in state["labourers"]:
        for task in entry["set_aside"]:
            logger.warning("task set aside", extra={"labourer_id": entry["labourer_id"], **task})
    return state
