"""Summarize: the per-labourer report that is the Orchestrator execution's output, and the run's metrics."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import run, telemetry
from foreman_core.config_source import ConfigReference, load_pinned
from foreman_core.deployment import Clients, deployed_tables

logger = Logger()
tracer = Tracer()
clients = Clients()


@telemetry.lambda_step(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: FetchGreenfieldTasks' output, its ``invocations`` replaced by InvokeLabourers' per-labourer outcomes.

    Logs one line per labourer that had work or trouble (a warning when tasks were released or failed, or its
    iteration failed) and prints the run's metrics (``telemetry.emit_run_report``, each labourer's cap from the
    run's config; if that fails, the error is logged and the run still succeeds)."""
    report = run.summarize(event)
    for labourer_id, line in report["labourers"].items():
        troubled = line.get("released") or line.get("failed") or "labourer_error" in line
        if troubled:
            logger.warning("labourer report", extra={"labourer_id": labourer_id, **line})
        elif line.get("fetched") or line.get("deferred"):
            logger.info("labourer report", extra={"labourer_id": labourer_id, **line})
    try:
        config = load_pinned(ConfigReference.from_dict(event["config"]), tables=deployed_tables(), clients=clients)
        caps = {labourer.id: labourer.max_simultaneous_invocations for labourer in config.labourers}
        telemetry.emit_run_report(report, caps, idle=config.idle_labourer_metrics)
    except Exception:  # the tasks are invoked and the report is right: a metrics fault must not fail the run
        logger.exception("metrics not emitted")
    return report
