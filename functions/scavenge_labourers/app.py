"""ScavengeLabourers: one batch of the Scavenger's labourers (archive, expire to retry or dead, requeue due retries)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import telemetry
from foreman_core.config_source import ConfigReference, load_pinned
from foreman_core.deployment import Clients, deployed_tables
from foreman_core.scavenger import AwsNotifier
from foreman_core.scavenger_batches import scavenge_batch

logger = Logger()
tracer = Tracer()
clients = Clients()


@telemetry.lambda_step(logger, tracer, keys=lambda event: {"batch": event.get("batch")})
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: ``{"labourers": [positions in the config], "batch": its number, "run": LoadConfig's run,
    "config": LoadConfig's config reference}``. Returns the batch's report (``scavenger_batches.scavenge_batch``),
    at most ``BATCH_REPORT_BYTES``.

    Metrics: a labourer's ``DeadTasks`` when it closed tasks as dead (with ``idle_labourer_metrics``, also 0 for
    each labourer scavenged), and the deployment-wide ``DeadTasks`` of the batch; a metrics fault is logged, never
    raised. Logs each labourer's line (warning when it has errors)."""
    notifier = AwsNotifier(
        sns=clients("sns"),
        events=clients("events"),
        topic_arn=os.environ.get("DEAD_TASKS_TOPIC_ARN") or None,
        event_bus=os.environ.get("EVENT_BUS_NAME") or "default",
    )
    config = load_pinned(ConfigReference.from_dict(event["config"]), tables=deployed_tables(), clients=clients)
    execution = telemetry.execution_of(event)
    dead = 0

    def observe(line: dict[str, Any]) -> None:
        nonlocal dead
        dead += int(line.get("dead", 0))
        if line.get("errors") or line.get("notification_errors"):
            logger.warning("labourer scavenged with errors", extra=line)
        else:
            logger.info("labourer scavenged", extra=line)
        if line.get("dead") or config.idle_labourer_metrics:
            try:
                telemetry.emit_dead_tasks(line["labourer_id"], int(line.get("dead", 0)), execution=execution)
            except Exception:  # the tasks are moved and the report is right: a metrics fault must not fail the step
                logger.exception("metrics not emitted")

    report = scavenge_batch(
        event,
        config,
        client=clients("dynamodb"),
        notifier=notifier,
        lambda_client=clients("lambda"),
        remaining_millis=context.get_remaining_time_in_millis,
        observe=observe,
    )
    try:
        telemetry.emit_dead_tasks(None, dead, execution=execution)
    except Exception:
        logger.exception("metrics not emitted")
    return report
