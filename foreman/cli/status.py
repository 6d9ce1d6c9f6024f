"""``foreman status``: where each labourer's tasks stand, and its health now."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from foreman_core.config import OrchestratorConfig

from foreman.cli.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError
from foreman.cli.options import Formatter
from foreman.cli.output import format_table, print_json
from foreman.cli.target import Target, call_aws, resolve_target, unknown_labourer


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    """Per labourer: queued, running, expired, completed, retry-waiting, closed, and health now."""
    from foreman.status import status_report
    from foreman.task_input import InputError, format_time, parse_time

    try:
        now = parse_time(args.now, option="--now") if args.now else time.time()
    except InputError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    target = resolve_target(args, ["TasksTableName", "ConfigLocation"])
    try:
        config, config_error = target.config(), None
    except CliError as error:  # still show the queues, from the labourers a broken config names
        config, config_error = _config_despite(error, target), error
    known = {labourer.id for labourer in config.labourers}
    for labourer_id in args.labourer or []:
        if labourer_id not in known:
            if config_error is not None:
                raise config_error
            raise unknown_labourer(labourer_id, config)
    report = call_aws(
        lambda: status_report(
            config,
            dynamodb=target.client("dynamodb"),
            cloudwatch=target.client("cloudwatch"),
            now=now,
            labourer_ids=args.labourer or None,
            controllers=_controllers(target),
        ),
        target,
        tables=config.tables,
    )
    if args.json:
        errors = {"config_error": str(config_error)} if config_error is not None else {}
        print_json({"now": now, "labourers": [line.to_dict() for line in report], **errors}, out)
        return EXIT_FAILED if config_error is not None else EXIT_OK
    headers = ["labourer", "queued", "running", "failed", "expired", "completed", "retry-waiting", "closed-completed",
               "closed-dead", "health"]  # fmt: skip
    rows = [
        [line.labourer_id, line.queued, line.running, line.failed, line.expired, line.completed, line.retry_waiting,
         line.closed_completed, line.closed_dead, line.health_text]
        for line in report
    ]  # fmt: skip
    out.write(f"status at {format_time(now)}\n")
    out.write(format_table(headers, rows, text=[len(headers) - 1]) + "\n")
    tracking = [line for line in report if line.tracked]
    if tracking:  # target tracking (docs/target-tracking.md): the controller's stored state
        out.write("target tracking\n")
        out.write("".join(f"  {line.labourer_id}: {line.controller_text}\n" for line in tracking))
    if config_error is not None:
        out.flush()
        sys.stderr.write(
            f"foreman: error: {config_error}\n"
            "  (the queues above are read with the deployment's tables; the health of a labourer whose settings "
            "are invalid is that of a labourer without health metrics)\n"
        )
        return config_error.code
    return EXIT_OK


def _controllers(target: Target) -> Any:
    """Target tracking's state in the stack's coordination table (``None`` when the stack does not name it)."""
    from foreman_core.controller_store import ControllerStore

    table = target.outputs.get("CoordinationTableName")
    return ControllerStore(target.client("dynamodb"), str(table)) if table else None


def _config_despite(error: CliError, target: Target) -> OrchestratorConfig:
    """The labourers a broken config still names, with the deployment's tables (``config_despite_errors``);
    re-raises ``error`` if it names none (the config cannot be read, or has no labourers to speak of)."""
    from foreman.status import config_despite_errors

    try:
        raw = target.raw_config()
    except CliError:
        raise error from None
    config = config_despite_errors(raw, target.tables())
    if not config.labourers:
        raise error
    return config


def add_parser(commands: Any, aws: argparse.ArgumentParser) -> None:
    """``foreman status`` and its options."""
    status = commands.add_parser(
        "status",
        parents=[aws],
        help="per labourer: queued, running, expired, completed, retry-waiting, closed, health",
        formatter_class=Formatter,
        description="Where each labourer's tasks stand, and its health now (the eco status the Orchestrator would\n"
        "compute: the worst of its health metrics, from CloudWatch).\n\n"
        "  queued            waiting in the queue\n"
        "  running           invoked, not completed, not yet expired\n"
        "  expired           invoked, not completed, past duration + cooldown: the Scavenger retries or closes them\n"
        "  completed         completed, still in the tasks table (the Scavenger archives them)\n"
        "  retry-waiting     in the retry table, waiting for their launch time\n"
        "  closed-completed  archived as completed;  closed-dead: closed after their last attempt",
    )
    status.add_argument("--labourer", action="append", metavar="ID", help="only this labourer (repeatable)")
    status.add_argument("--now", metavar="TIME", help="as of TIME (unix seconds or ISO 8601) instead of now")
    status.add_argument("--json", action="store_true", help="print JSON, with every metric reading")
    status.set_defaults(handler=cmd_status)
