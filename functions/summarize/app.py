"""Summarize: the per-labourer report that is the Orchestrator execution's output."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from foreman_core import run

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: FetchGreenfieldTasks' output plus ``results``, the InvokeLabourers Map's per-labourer outcomes."""
    logger.append_keys(execution=event["run"]["execution"])
    report = run.summarize(event)
    for line in report["labourers"]:
        logger.info("labourer report", extra={k: v for k, v in line.items() if k != "health"})
    return report
