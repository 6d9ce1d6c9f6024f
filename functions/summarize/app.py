"""Summarize: the per-labourer report that is the Orchestrator execution's output, and the run's metrics."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import lease, run, run_groups, telemetry
from foreman_core.config import OrchestratorConfig
from foreman_core.config_source import ConfigReference, load_pinned
from foreman_core.deployment import Clients, deployed_tables

logger = Logger()
tracer = Tracer()
clients = Clients()


@telemetry.lambda_step(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: ``{"state": FetchGreenfieldTasks' output, "invoked": what the Invocations execution's
    InvokeLabourers Map returned (its results in S3, or its error), "redrive_count": n}``; from the Orchestrator (a run
    with nothing to invoke) without ``invoked``. Each group's result is read back from S3
    (``run_groups.read_results``).

    Logs one line per labourer that had work or trouble (a warning when tasks were released or failed, or its
    iteration failed) and prints the run's metrics (``telemetry.emit_run_report``, each labourer's cap from the
    run's config; if that fails, the error is logged and the run still succeeds).

    Every claim of the run is made by now: if this run holds the Orchestrator lease, it gives it back first, recording
    the tasks it left claimed per labourer (``run.claims_left``) for the next holder's count, and the labourers with a
    group whose child failed (``finished``: the Scavenger gives back the attempt of their expired tasks). If that
    write fails the report says so and the lease expires by itself."""
    redriven = int(event.get("redrive_count", 0)) > 0
    invoked = event.get("invoked")
    event = event.get("state", event)  # {"state": the run's state, "redrive_count": n} from the state machine
    config = None
    try:
        config = load_pinned(ConfigReference.from_dict(event["config"]), tables=deployed_tables(), clients=clients)
    except Exception:  # the report and the lease do not need it; the metrics do (below)
        logger.exception("config not read back")
    results: list[dict[str, Any]] = []
    if isinstance(event.get("invocations"), dict) and event["invocations"].get("groups"):
        results = run_groups.read_results(
            clients("s3"), run_groups.Location.from_dict(event["invocations"]), invoked or {}
        )
    returned, lease_error = _give_back_lease(event, results, config, redriven=redriven)
    report = run.summarize(event, results, lease_returned=returned, lease_error=lease_error)
    for labourer_id, line in report["labourers"].items():
        troubled = line.get("released") or line.get("failed") or "labourer_error" in line
        if troubled:
            logger.warning("labourer report", extra={"labourer_id": labourer_id, **line})
        elif line.get("fetched") or line.get("deferred"):
            logger.info("labourer report", extra={"labourer_id": labourer_id, **line})
    try:
        if config is None:
            raise RuntimeError("the run's config could not be read back")
        caps = {labourer.id: labourer.max_simultaneous_invocations for labourer in config.labourers}
        telemetry.emit_run_report(report, caps, idle=config.idle_labourer_metrics)
    except Exception:  # the tasks are invoked and the report is right: a metrics fault must not fail the run
        logger.exception("metrics not emitted")
    return report


def _give_back_lease(
    event: dict[str, Any], results: list[dict[str, Any]], config: OrchestratorConfig | None, *, redriven: bool
) -> tuple[bool, str | None]:
    """Give the lease back if this run holds it, recording the run as finished unless it was redriven (a redriven
    run's first attempt stopped somewhere: its claims may be unsent): ``(returned, error name or None)``."""
    held = event.get("lease") or {}
    if not held.get("held") or "claim" not in event:
        return False, None
    broken = sorted({result["labourer_id"] for result in results if result.get("error")})
    try:
        returned = lease.give_back(
            clients("dynamodb"),
            event["claim"]["table"],
            run=event["run"]["id"],
            now=time.time(),
            claims=run.claims_left(results),
            finished=None if redriven else broken,
            keep_seconds=None if config is None else run.finished_keep_seconds(config),
        )
    except Exception as error:  # the lease expires by itself; the report must still be written
        logger.exception("lease not given back")
        return False, type(error).__name__
    if not returned:
        logger.warning("lease no longer ours: it expired and another run took it", extra={"run": event["run"]["id"]})
        return False, "LeaseLost"
    return True, None
