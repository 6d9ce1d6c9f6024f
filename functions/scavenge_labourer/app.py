"""ScavengeLabourer: one labourer's step of the Scavenger (archive, expire to retry or dead, requeue due retries)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import telemetry
from foreman_core.config_source import ConfigReference, load_pinned
from foreman_core.deployment import Clients, deployed_tables
from foreman_core.scavenger import AwsNotifier, scavenge_labourer

logger = Logger()
tracer = Tracer()
clients = Clients()


@telemetry.lambda_step(logger, tracer, keys=lambda event: {"labourer_id": event["labourer"]})
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: ``{"labourer": <its id>, "run": LoadConfig's run, "config": LoadConfig's config reference}``.
    Returns the labourer's report: archived, retried, dead, requeued, lost races, errors (each only when not zero
    or empty). Prints the labourer's
    ``DeadTasks`` metric (0 included, so the dashboard draws a line); a metrics fault is logged, never raised."""
    notifier = AwsNotifier(
        sns=clients("sns"),
        events=clients("events"),
        topic_arn=os.environ.get("DEAD_TASKS_TOPIC_ARN") or None,
        event_bus=os.environ.get("EVENT_BUS_NAME") or "default",
    )
    config = load_pinned(ConfigReference.from_dict(event["config"]), tables=deployed_tables(), clients=clients)
    report = scavenge_labourer(
        event, config, client=clients("dynamodb"), notifier=notifier, lambda_client=clients("lambda")
    )
    try:
        telemetry.emit_dead_tasks(
            event["labourer"], int(report.get("dead", 0)), execution=telemetry.execution_of(event)
        )
    except Exception:  # the tasks are moved and the report is right: a metrics fault must not fail the step
        logger.exception("metrics not emitted")
    if report.get("errors") or report.get("notification_errors"):
        logger.warning("labourer scavenged with errors", extra=report)
    else:
        logger.info("labourer scavenged", extra=report)
    return report
