"""The options every command shares: how to reach AWS, and where the stack is."""

from __future__ import annotations

import argparse
import os

from foreman.cli.target import DEFAULT_STACK_NAME


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the descriptions' line breaks and shows defaults."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "%(default)" not in text and action.default not in (None, False, argparse.SUPPRESS, [], True):
            text += " (default: %(default)s)"
        return text


def _connection_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="talk to this endpoint instead of AWS, e.g. the one `foreman local serve` prints; names default to the "
        "local deployment's (default: $AWS_ENDPOINT_URL)",
    )
    group.add_argument("--region", metavar="REGION", help="AWS region (default: the boto3 default chain)")
    group.add_argument("--profile", metavar="PROFILE", help="AWS profile (default: the boto3 default chain)")


def connection_options() -> argparse.ArgumentParser:
    """Only how to reach AWS: for a command that reads one named location and no stack."""
    parent = argparse.ArgumentParser(add_help=False)
    _connection_arguments(parent.add_argument_group("how to reach AWS (for an ssm:, dynamodb: or s3: location)"))
    return parent


def aws_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("where the stack is")
    group.add_argument(
        "--stack-name",
        metavar="NAME",
        default=os.environ.get("FOREMAN_STACK_NAME", DEFAULT_STACK_NAME),
        help="the CloudFormation stack whose outputs name the tables, the Orchestrator and the config location",
    )
    _connection_arguments(group)
    group.add_argument(
        "--config-location",
        metavar="LOCATION",
        help="where the orchestrator config is, e.g. ssm:/foreman/orchestrator_config (default: stack output "
        "ConfigLocation)",
    )
    group.add_argument("--tasks-table", metavar="TABLE", help="the tasks table (default: stack output TasksTableName)")
    group.add_argument(
        "--closed-table", metavar="TABLE", help="the closed tasks table (default: stack output ClosedTasksTableName)"
    )
    group.add_argument(
        "--retry-table", metavar="TABLE", help="the retry tasks table (default: stack output RetryTasksTableName)"
    )
    return parent
