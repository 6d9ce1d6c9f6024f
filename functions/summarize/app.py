"""Summarize: the per-labourer report that is the Orchestrator execution's output, and the run's metrics."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import run, telemetry

logger = Logger()
tracer = Tracer()


@telemetry.lambda_step(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: FetchGreenfieldTasks' output plus ``results``, the InvokeLabourers Map's per-labourer outcomes.

    Logs one line per labourer (a warning when tasks were released or failed, or its iteration failed) and prints
    the run's metrics (``telemetry.emit_run_report``; if that fails, the error is logged and the run still succeeds)."""
    report = run.summarize(event)
    for line in report["labourers"]:
        troubled = line["released"] or line["failed"] or "labourer_error" in line
        log = logger.warning if troubled else logger.info
        log("labourer report", extra={k: v for k, v in line.items() if k != "health"})
    try:
        telemetry.emit_run_report(report)
    except Exception:  # the tasks are invoked and the report is right: a metrics fault must not fail the run
        logger.exception("metrics not emitted")
    return report
