"""``foreman config``: validate an orchestrator config, or store it where the stack's LoadConfig reads it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from foreman_core.config import OrchestratorConfig

from foreman.cli.errors import EXIT_OK, EXIT_USAGE, CliError
from foreman.cli.options import Formatter, connection_options
from foreman.cli.output import format_table
from foreman.cli.target import Target, call_aws, resolve_target


def _load_config_argument(args: argparse.Namespace) -> tuple[str, Any]:
    """The config named by FILE (a path, ``-``, or an ``ssm:``, ``dynamodb:`` or ``s3:`` location): (where, its JSON).

    Raises ``CliError``: exit 2 when it cannot be read, 1 when it is not JSON (an invalid config)."""
    from foreman_core.config import loads_json
    from foreman_core.config_source import ConfigSourceError, FileLocation, load_raw_config, parse_location

    name = args.file
    if name.startswith(("ssm:", "dynamodb:", "s3:")):
        target = resolve_target(args, [])
        try:
            return name, load_raw_config(name, session_or_clients=target.client)
        except ConfigSourceError as error:
            raise CliError(str(error), EXIT_USAGE) from None
    if name.startswith("file:"):  # the location form LoadConfig reads, accepted here too
        try:
            location = parse_location(name)
        except ConfigSourceError as error:
            raise CliError(str(error), EXIT_USAGE) from None
        if isinstance(location, FileLocation):
            name = str(location.path)
    if name == "-":
        text, where = sys.stdin.read(), "stdin"
    else:
        where = name
        try:
            text = Path(name).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CliError(f"{name}: no such file", EXIT_USAGE) from None
        except (OSError, UnicodeDecodeError) as error:
            raise CliError(f"{name}: cannot read: {error}", EXIT_USAGE) from None
    try:
        return where, loads_json(text)  # remembers repeated keys: parse_config reports them
    except json.JSONDecodeError as error:
        raise CliError(
            f"invalid config: {where}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None


def cmd_config_validate(args: argparse.Namespace, out: TextIO) -> int:
    """Validate an orchestrator config; list every problem with its path."""
    from foreman_core import run_limits
    from foreman_core.config import ConfigError, parse_config

    where, raw = _load_config_argument(args)
    try:
        config = parse_config(raw)
        problems = run_limits.config_problems(config)  # what LoadConfig refuses besides the config's own problems
        if problems:
            raise ConfigError(problems)
    except ConfigError as error:
        raise CliError(f"{where}: {error}") from None
    noun = "labourer" if len(config.labourers) == 1 else "labourers"
    out.write(f"valid: {len(config.labourers)} {noun}\n")
    _warn_if_no_labourers(config)
    _warn_near_limits(config, "STANDARD")
    if config.labourers:
        rows = [
            [
                labourer.id,
                labourer.max_simultaneous_invocations,
                ", ".join(metric.name for metric in labourer.health_metrics) or "-",
                f"{labourer.duration}+{labourer.cooldown}",
                labourer.arn,
            ]
            for labourer in config.labourers
        ]
        out.write(format_table(["labourer", "cap", "health metrics", "expiry s", "arn"], rows, text=[2, 4]) + "\n")
    return EXIT_OK


def _deployment_problems(target: Target, raw: Any) -> list[tuple[str, str]]:
    """What LoadConfig would refuse in the (valid) config ``raw`` on this deployment (labourers outside its
    LabourerArns, other tables or indexes), read from the deployed LoadConfig's environment; nothing if that cannot
    be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    from foreman_core.config import parse_config
    from foreman_core.deployment import deployed_labourer_arns, deployed_tables
    from foreman_core.run import deployment_problems

    function = target.outputs.get("LoadConfigFunctionArn")
    if not function:
        return []
    try:
        described = target.client("lambda").get_function_configuration(FunctionName=function)
    except (ClientError, BotoCoreError):
        return []
    environ = described.get("Environment", {}).get("Variables", {})
    tables = deployed_tables(environ)
    arns = deployed_labourer_arns(described.get("FunctionArn", function), environ)
    kind = environ.get("ORCHESTRATOR_TYPE") or target.orchestrator_type()
    return deployment_problems(parse_config(raw, tables=tables, orchestrator_type=kind), tables, arns)


def _warn_near_limits(config: OrchestratorConfig, orchestrator_type: str) -> None:
    """Each limit the config comes near (``run_limits.config_warnings``), as a warning naming it, to stderr."""
    from foreman_core import run_limits

    for path, warning in run_limits.config_warnings(config, orchestrator_type):
        sys.stderr.write(f"foreman: warning: {path}: {warning}\n")


def _warn_if_no_labourers(config: OrchestratorConfig) -> None:
    if not config.labourers:
        sys.stderr.write(
            "foreman: warning: the config has no labourers (task_config.labourers is missing or empty): "
            "a run with it invokes nothing\n"
        )


def cmd_config_put(args: argparse.Namespace, out: TextIO) -> int:
    """Validate a config as LoadConfig will (its tables must be the deployment's), then store it where the deployed
    LoadConfig reads it (SSM parameter, sosw's table or S3 object), if it fits there (``config_store``)."""
    from foreman.config_store import ConfigTooLargeError, store_config
    from foreman_core import run_limits
    from foreman_core.config import ConfigError, check_deployment_tables, parse_config

    where, raw = _load_config_argument(args)
    try:  # the budget's bound is the deployment's workflow type's, checked below; here the larger one (Express)
        config = parse_config(raw, orchestrator_type="EXPRESS")
    except ConfigError as error:
        raise CliError(f"{where}: {error}; nothing was stored") from None
    target = resolve_target(args, ["ConfigLocation", "TasksTableName"])
    if target.endpoint_url:  # a local endpoint: the ARNs you will deploy to run as its functions, as serve --config
        from foreman.local.arn_mapping import local_arns

        raw, mapped = local_arns(raw, config)
        for original, local in mapped.items():
            sys.stderr.write(f"foreman: {original} runs as the local {local} (the endpoint's account and region)\n")
    try:  # what LoadConfig checks on every run: a config it would refuse is not stored
        config = parse_config(raw, tables=target.tables(), orchestrator_type=target.orchestrator_type())
        check_deployment_tables(config, target.tables())
        problems = run_limits.config_problems(config)  # what LoadConfig refuses besides the config's own problems
        if problems:
            raise ConfigError(problems)
    except ConfigError as error:
        raise CliError(f"{where}: {error}; nothing was stored (LoadConfig would refuse it on every run)") from None
    _warn_if_no_labourers(config)
    _warn_near_limits(config, target.orchestrator_type())
    location = target.output("ConfigLocation", "--config-location")
    problems = _deployment_problems(target, raw)
    if problems:
        raise CliError(f"{where}: {ConfigError(problems)}; nothing was stored")
    text = json.dumps(raw)
    try:  # a config too large for the place is refused before any call
        call_aws(lambda: store_config(target.client, location, text), target)
    except ConfigTooLargeError as error:
        raise CliError(f"{where}: {error}; nothing was stored") from None
    except ValueError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    out.write(f"stored {where} at {location}: {len(config.labourers)} labourers\n")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------------------------


def cmd_config_get(args: argparse.Namespace, out: TextIO) -> int:
    """Print the config stored where the stack's LoadConfig reads it, as stored (JSON), and whether it is valid
    there: a config LoadConfig would refuse is printed too, with its problems on stderr (exit code 1)."""
    target = resolve_target(args, ["ConfigLocation", "TasksTableName"])
    location = target.output("ConfigLocation", "--config-location")
    raw = target.raw_config()
    out.write(json.dumps(raw, indent=2) + "\n")
    out.flush()
    try:
        config = target.config()
    except CliError as error:
        sys.stderr.write(f"foreman: error: {error}\n")
        return error.code
    sys.stderr.write(f"foreman: {location}: valid, {len(config.labourers)} labourers\n")
    return EXIT_OK


def add_parser(commands: Any, aws: argparse.ArgumentParser) -> None:
    """``foreman config``: its subcommands and options."""
    config = commands.add_parser(
        "config", help="validate, store or print an orchestrator config", formatter_class=Formatter,
        description="Work with the orchestrator config (sosw's format).",
    )  # fmt: skip
    config_commands = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    validate = config_commands.add_parser(
        "validate",
        parents=[connection_options()],
        help="check a config: 'valid: N labourers', or every problem with its path",
        formatter_class=Formatter,
        description="Check an orchestrator config. FILE is a JSON file, '-' for stdin, or a location such as\n"
        "ssm:/foreman/orchestrator_config, dynamodb:config/production/sosw_orchestrator_config or\n"
        "s3:my-bucket/config.json (read with the AWS options). Exit code 1 if the config is invalid (every problem\n"
        "listed with its path), 2 if it cannot be read.",
    )
    validate.add_argument(
        "file", metavar="FILE", help="the config: a JSON file, '-', or an ssm:, dynamodb: or s3:BUCKET/KEY location"
    )
    validate.set_defaults(handler=cmd_config_validate)
    put = config_commands.add_parser(
        "put",
        parents=[aws],
        help="validate a config, then store it where the stack reads it",
        formatter_class=Formatter,
        description="Validate FILE, then store it at the stack's config location (output ConfigLocation: an SSM\n"
        "parameter, or sosw's config table). LoadConfig picks it up within ConfigCacheSeconds. Nothing is stored if\n"
        "the config is invalid (exit code 1).",
    )
    put.add_argument("file", metavar="FILE", help="the config: a JSON file or '-'")
    put.set_defaults(handler=cmd_config_put)
    get = config_commands.add_parser(
        "get",
        parents=[aws],
        help="print the config stored where the stack reads it",
        formatter_class=Formatter,
        description="Print the orchestrator config at the stack's config location (output ConfigLocation, or\n"
        "--config-location) as stored, then say on stderr whether LoadConfig accepts it (exit code 1 if not, with\n"
        "every problem and its path).\n\n"
        "  foreman config get > config.json && $EDITOR config.json && foreman config put config.json",
    )
    get.set_defaults(handler=cmd_config_get)
