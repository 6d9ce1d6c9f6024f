"""FetchGreenfieldTasks: the oldest queued tasks each labourer may start now, written to S3 in groups."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import run, run_groups, telemetry
from foreman_core.config_source import ConfigReference, load_pinned
from foreman_core.deployment import Clients, deployed_tables
from foreman_core.task_store import TaskStore

logger = Logger()
tracer = Tracer()
clients = Clients()


@telemetry.lambda_step(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: ComputeEcology's output. The run's groups go to the runs bucket (``RUNS_BUCKET``,
    ``run_groups.write``); the state's ``invocations`` says where they are and how many."""
    config = load_pinned(ConfigReference.from_dict(event["config"]), tables=deployed_tables(), clients=clients)
    store = TaskStore.for_config(clients("dynamodb"), config)
    state = run.fetch_greenfield_tasks(event, config, store=store)
    bucket = os.environ.get("RUNS_BUCKET")
    if not bucket:
        raise RuntimeError("RUNS_BUCKET is not set: the template sets it to the RunsBucket (template.yaml)")
    groups = state["invocations"]
    state["invocations"] = run_groups.write(clients("s3"), bucket, event["run"]["id"], groups).to_dict()
    for labourer_id, line in state["report"].items():
        if line.get("fetched") or line.get("deferred") or line.get("set_aside"):
            logger.info(
                "fetched",
                extra={"labourer_id": labourer_id, **{k: line.get(k, 0) for k in ("fetched", "deferred")}},
            )
        for task in line.get("set_aside", []):
            logger.warning("task set aside", extra={"labourer_id": labourer_id, **task})
    return state
