"""``foreman``: drive Foreman from a shell, on AWS or on the local stack.

Commands (each with ``--help``)::

    foreman tasks create   queue tasks: one (--payload), many (--file, JSON lines) or delayed (--not-before)
    foreman status         per labourer: queued, running, expired, completed, retry-waiting, closed, health
    foreman run            start the Orchestrator, wait, print its per-labourer summary
    foreman config validate FILE   check an orchestrator config; every problem with its path
    foreman config put FILE        validate, then store it where the stack's LoadConfig reads it
    foreman local demo     the one-command demo on the embedded stack
    foreman local serve    the local stack as an AWS endpoint on loopback

On AWS the commands use the default boto3 credential chain (``--profile``, ``--region`` to choose) and read table
names, the Orchestrator's ARN and the config location from the CloudFormation stack's outputs (``--stack-name``,
default ``foreman``). With ``--endpoint-url`` they talk to that endpoint instead (``foreman local serve``), where the
names default to those of the local deployment. Any of them can be given explicitly.

Exit codes: 0 ok; 1 the thing asked for failed (an invalid config, a failed execution, an AWS error); 2 bad usage or
input (unknown option or labourer, an invalid JSON line, a missing file); 130 interrupted.


One module per command group (``tasks``, ``status``, ``run``, ``config``, ``local``), each with its parser; the
shared parts: ``errors`` (``CliError``, the exit codes), ``target`` (where the stack is), ``options`` (the AWS
options), ``output`` (tables, JSON).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from foreman.cli import config, local, run, status, tasks
from foreman.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CliError
from foreman.cli.options import Formatter, aws_options
from foreman.cli.output import format_table
from foreman.cli.run import describe_failure, report_lines, run_problems, summary_table
from foreman.cli.target import LOCAL_OUTPUTS, Target, resolve_target

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "LOCAL_OUTPUTS",
    "CliError",
    "Target",
    "build_parser",
    "describe_failure",
    "format_table",
    "main",
    "report_lines",
    "resolve_target",
    "run_problems",
    "summary_table",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("foreman")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The ``foreman`` argument parser, with every command and its options."""
    aws = aws_options()
    parser = argparse.ArgumentParser(
        prog="foreman",
        description="Foreman: run queued tasks on worker Lambdas (labourers) without overloading what they depend on.",
        epilog="Exit codes: 0 ok; 1 failed (an invalid config, a failed execution, a run that claimed tasks it could\n"
        "not invoke, an AWS error); 2 bad usage or input; 130 interrupted (Ctrl-C).\n"
        "Run `foreman COMMAND --help` for a command's options.",
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    tasks.add_parser(commands, aws)
    status.add_parser(commands, aws)
    run.add_parser(commands, aws)
    config.add_parser(commands, aws)
    local.add_parser(commands)
    _remember_parsers(parser)
    return parser


def _remember_parsers(parser: argparse.ArgumentParser) -> None:
    """Give every command's namespace its own parser (``command_parser``), so that an unknown option is reported
    with that command's usage, not the top-level one."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.set_defaults(command_parser=sub)
                _remember_parsers(sub)


def _unknown_options(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    """``unrecognized arguments: --labourers (did you mean --labourer?)``."""
    import difflib

    options = [option for action in parser._actions for option in action.option_strings]
    hints = []
    for word in unknown:
        close = difflib.get_close_matches(word.split("=", 1)[0], options, n=1) if word.startswith("-") else []
        hints.append(f"{word} (did you mean {close[0]}?)" if close else word)
    return "unrecognized arguments: " + " ".join(hints)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``foreman`` with ``argv`` (default: the command line); returns the exit code."""
    parser = build_parser()
    words = sys.argv[1:] if argv is None else list(argv)
    if not words:  # `foreman` alone: what it can do
        parser.print_help()
        return EXIT_OK
    try:
        args, unknown = parser.parse_known_args(words)
        if unknown:
            getattr(args, "command_parser", parser).error(_unknown_options(args.command_parser, unknown))
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed by argparse
        return int(exit_.code) if isinstance(exit_.code, int) else EXIT_USAGE
    out = sys.stdout
    try:
        code: int = args.handler(args, out)
    except CliError as error:
        out.flush()
        sys.stderr.write(f"foreman: error: {error}\n")
        return error.code
    except KeyboardInterrupt:
        sys.stderr.write("foreman: interrupted\n")
        return EXIT_INTERRUPTED
    return code
