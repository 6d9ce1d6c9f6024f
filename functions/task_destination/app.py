"""TaskDestination: completes or fails a task from the record Lambda sends to an asynchronously invoked labourer's
``OnSuccess`` / ``OnFailure`` destination, so the labourer needs no completion code at all."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from foreman_core import completion, telemetry
from foreman_core.deployment import Clients, deployed_tables
from foreman_core.task_store import TaskStore

logger = Logger()
tracer = Tracer()
clients = Clients()


@telemetry.lambda_step(logger, tracer)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``event``: a Lambda destination record (``requestContext.condition`` ``Success``, ``RetriesExhausted`` or
    ``EventAgeExceeded``; ``requestPayload`` = the event the labourer got). Returns the outcome.

    A record that carries no task (the labourer was invoked by something else) is logged and ignored, not raised:
    raising would only make Lambda deliver it again.
    """
    try:
        request = completion.from_destination_record(event)
    except completion.InvalidReportError as error:
        logger.warning("destination record ignored", extra={"reason": str(error)})
        return {"accepted": False, "ignored": True, "reason": str(error)}
    store = TaskStore(clients("dynamodb"), deployed_tables())
    return completion.record_and_log(store, request, logger)
