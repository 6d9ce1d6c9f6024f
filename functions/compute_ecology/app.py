"""ComputeEcology: take the Orchestrator lease, then each labourer's health, running tasks and desired number of
invocations."""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import lease, run, telemetry
from foreman_core.config_source import ConfigReference, load_pinned
from foreman_core.controller_store import ControllerStore
from foreman_core.deployment import Clients, deployed_tables
from foreman_core.ecology import LabourerHealth
from foreman_core.report_line import health_read
from foreman_core.task_store import TaskStore

logger = Logger()
tracer = Tracer()
clients = Clients()


@telemetry.lambda_step(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: LoadConfig's output. The lease is taken for ``LEASE_SECONDS`` in the tasks table by the run
    (``run.id``, of execution ``run.execution``); if this step fails after taking it, it gives it back before failing
    (a timeout or a crash is caught by the state machine, which gives it back). Logs the health of each labourer whose
    health it read, with every reading (the report keeps only the metric that set a status below 4), and its line; a
    labourer with nothing queued is not logged."""
    config = load_pinned(ConfigReference.from_dict(event["config"]), tables=deployed_tables(), clients=clients)
    dynamodb = clients("dynamodb")
    store = TaskStore.for_config(dynamodb, config)
    table = os.environ["COORDINATION_TABLE"]
    run_id = event["run"]["id"]
    execution = event["run"].get("execution") or f"unnamed-{run_id}"
    taken = lease.take(
        dynamodb,
        config.tables.tasks,
        run=run_id,
        execution=execution,
        now=time.time(),
        seconds=int(os.environ["LEASE_SECONDS"]),
    )
    if not taken.held:
        logger.warning("lease busy: another execution is claiming", extra=taken.to_dict())

    def log_health(labourer_id: str, health: LabourerHealth) -> None:
        logger.info("health", extra={"labourer_id": labourer_id, **health.to_dict()})

    try:
        controllers = ControllerStore(dynamodb, table)  # target tracking's state, beside the lease
        state = run.compute_ecology(
            event,
            config,
            cloudwatch=clients("cloudwatch"),
            store=store,
            lease=taken,
            controllers=controllers,
            observe=log_health,
        )
    except Exception:
        if taken.held:
            lease.give_back(dynamodb, config.tables.tasks, run=run_id, now=time.time())
        raise
    for labourer_id, line in state["report"].items():
        if health_read(line):  # a labourer with nothing queued says nothing: a log line per labourer per run is a bill
            logger.info("ecology", extra={"labourer_id": labourer_id, **line})
    return state
