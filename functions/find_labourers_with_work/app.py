"""FindLabourersWithWork: the Scavenger's first step after LoadConfig, the labourers it has something to do for."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import scavenger_batches, telemetry
from foreman_core.config_source import ConfigReference, load_pinned
from foreman_core.deployment import Clients, deployed_tables
from foreman_core.task_store import TaskStore

logger = Logger()
tracer = Tracer()
clients = Clients()


@telemetry.lambda_step(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: LoadConfig's output. Returns the run, the config's reference and the labourers with an invoked
    task or a due retry, as batches of their positions in the config (``scavenger_batches.find_work``): at most
    two ``Limit=1`` queries a labourer."""
    config = load_pinned(ConfigReference.from_dict(event["config"]), tables=deployed_tables(), clients=clients)
    state = scavenger_batches.find_work(event, config, store=TaskStore.for_config(clients("dynamodb"), config))
    logger.info("labourers with work", extra={"labourers": state["labourers"], "with_work": state["with_work"]})
    return state
