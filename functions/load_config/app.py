"""LoadConfig: read and validate the orchestrator config, fix the run's clock."""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import config_source, run, run_clock, table_check, task_budget, telemetry
from foreman_core.deployment import Clients, deployed_labourer_arns, deployed_tables

logger = Logger()
tracer = Tracer()
clients = Clients()


@telemetry.lambda_step(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: ``{"execution": <execution ARN>, "input": <execution input>}``. The run's clock is the service's;
    the input's ``now`` (unix seconds) sets it only on the embedded stack (``run_clock.run_start``: a deployed run
    started with it fails here, naming it). Returns the run (its clock, a new run id, its claim deadline), the
    config's reference (``config_source.ConfigReference``: the steps after this one read the same config back from
    it) and the labourers' ids."""
    execution = event.get("execution")
    execution_input = event.get("input") or {}
    real_now = time.time()
    now = run_clock.run_start(execution_input, real_now=real_now, environment=os.environ)
    deadline = real_now + run_clock.claim_window(os.environ)
    tables = deployed_tables()
    if os.environ.get("CHECK_TABLES") == "true":  # CreateTables=false: tables made elsewhere, checked before any read
        table_check.check_tables_once(clients("dynamodb"), tables)
    config, reference = config_source.load_for_run(
        os.environ["CONFIG_LOCATION"],
        tables=tables,
        ttl=float(os.environ.get("CONFIG_CACHE_SECONDS", "60")),
        clients=clients,
        orchestrator_type=task_budget.checked_type(os.environ.get("ORCHESTRATOR_TYPE")),
    )
    labourer_arns = deployed_labourer_arns(context.invoked_function_arn)
    state = run.load_config(
        config,
        now=now,
        execution=execution,
        deployment=tables,
        labourer_arns=labourer_arns,
        reference=reference,
        claim_deadline=deadline,
    )
    logger.info("config loaded", extra={"config": state["config"]})
    return state
