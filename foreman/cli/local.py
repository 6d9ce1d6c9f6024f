"""``foreman local``: the one-command demo, and the local stack as an AWS endpoint (``foreman local serve``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from foreman.cli.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError
from foreman.cli.options import Formatter

LOCAL_MODULES = {"moto": "moto", "antlr4": "antlr4-python3-runtime", "jsonata": "jsonata-python", "PIL": "pillow"}
"""What ``foreman local`` imports beyond ``foreman``'s own dependencies (the ``local`` extra): module -> package."""


def check_local_extra() -> None:
    """``CliError`` naming the missing packages and the fix, if the ``local`` extra is not installed (instead of a
    ``ModuleNotFoundError`` from deep inside moto)."""
    import importlib.util

    missing = [package for module, package in LOCAL_MODULES.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise CliError(
            f"the local stack needs {', '.join(missing)}, which this environment lacks: "
            'pip install "foreman[local]" (in a clone: make dev)'
        )


def cmd_local_demo(args: argparse.Namespace, out: TextIO) -> int:
    """The one-command demo on the embedded stack."""
    if args.ticks < 1:
        raise CliError("--ticks must be at least 1", EXIT_USAGE)
    check_local_extra()
    from foreman.demo import DemoError, DemoOptions, run_demo

    try:
        result = run_demo(DemoOptions(ticks=args.ticks, output=Path(args.output), seed=args.seed), out)
    except DemoError as error:
        raise CliError(f"the demo failed: {error}") from None
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_local_serve(args: argparse.Namespace, out: TextIO) -> int:
    """The local stack as an AWS endpoint on loopback until Ctrl-C (or --for-seconds)."""
    check_local_extra()
    from foreman.serve import LabourerCode, ServeError, ServeOptions, serve

    if args.every is not None and args.every <= 0:
        raise CliError("--every must be a positive number of seconds", EXIT_USAGE)
    try:
        labourers = [LabourerCode.parse(text) for text in args.labourer or []]
    except ServeError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    if len({code.name for code in labourers}) < len(labourers):
        raise CliError("--labourer: the same function name is given twice", EXIT_USAGE)
    console_port = args.console_port if args.console_port is not None else (args.port + 1 if args.port else 0)
    options = ServeOptions(
        host=args.host,
        port=args.port,
        examples=args.examples,
        for_seconds=args.for_seconds,
        labourers=labourers,
        config_path=args.config,
        schedule=args.schedule,
        every=args.every,
        console_port=None if args.no_console else console_port,
        orchestrator_type=args.orchestrator_type,
        metrics_log=args.metrics_log,
    )
    try:
        return serve(options, out)
    except ServeError as error:
        raise CliError(str(error), EXIT_USAGE) from None


# ---------------------------------------------------------------------------------------------------------------------


def add_parser(commands: Any) -> None:
    """``foreman local``: its subcommands and options."""
    local = commands.add_parser(
        "local", help="the local stack: the demo, or an AWS endpoint on loopback", formatter_class=Formatter,
        description="Foreman on an embedded AWS stack (moto, in this process): no AWS account, no Docker.",
    )  # fmt: skip
    local_commands = local.add_subparsers(dest="local_command", metavar="SUBCOMMAND", required=True)
    demo = local_commands.add_parser(
        "demo",
        help="the one-command demo: ticks in accelerated time, a table per tick, a picture",
        formatter_class=Formatter,
        description="Deploy template.yaml on the embedded stack, register the example labourers and tasks of\n"
        "examples/, and run schedule ticks in accelerated time (one simulated minute each, each a real execution\n"
        "of the Orchestrator). Prints a table per tick, draws a picture of the run, checks the outcome: exit code 1\n"
        "if a check fails.",
    )
    demo.add_argument("--ticks", type=int, default=15, help="how many schedule ticks (simulated minutes)")
    demo.add_argument(
        "--output", default=str(Path("demo-output") / "foreman-demo.png"), metavar="PATH", help="the picture (PNG)"
    )
    demo.add_argument("--seed", type=int, default=7, help="the seed of the tasks' simulated durations")
    demo.set_defaults(handler=cmd_local_demo)
    serve = local_commands.add_parser(
        "serve",
        help="the local stack as an AWS endpoint on loopback",
        formatter_class=Formatter,
        description="Deploy template.yaml on a local AWS endpoint and serve it until Ctrl-C. The first line printed\n"
        "is one JSON object: the endpoint, region, table names, state machine and function ARNs, config location.\n"
        "Any AWS client can use it (boto3 endpoint_url, the AWS CLI --endpoint-url, sosw with AWS_ENDPOINT_URL);\n"
        "Lambda steps and the labourers (yours with --labourer, the examples unless --no-examples) run in this\n"
        "process; what they print goes to stderr prefixed by their names. The Orchestrator and the Scavenger run on\n"
        "the template's schedules (--every, --no-schedule); a local console is served at the line's 'console' URL.\n"
        "See docs/local-development.md.\n\n"
        "  foreman local serve --port 4566 &\n"
        "  foreman tasks create --endpoint-url http://127.0.0.1:4566 --labourer reports --payload '{}'\n"
        "  foreman run --endpoint-url http://127.0.0.1:4566\n"
        "  aws --endpoint-url http://127.0.0.1:4566 dynamodb scan --table-name sosw_tasks",
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve.add_argument("--port", type=int, default=4566, help="the port (0: any free port)")
    serve.add_argument(
        "--no-examples",
        dest="examples",
        action="store_false",
        help="do not register the example labourers and config of examples/",
    )
    serve.add_argument(
        "--labourer",
        action="append",
        metavar="NAME=DIR:module.function",
        help="create Lambda function NAME running your handler from DIR, as Lambda would (repeatable)",
    )
    serve.add_argument(
        "--config",
        metavar="FILE",
        help="store this orchestrator config (validated first; exit 2 if invalid) instead of examples/config.json",
    )
    schedule = serve.add_mutually_exclusive_group()
    schedule.add_argument(
        "--no-schedule",
        dest="schedule",
        action="store_false",
        help="do not run the Orchestrator and the Scavenger on the template's schedules (run them by hand)",
    )
    schedule.add_argument(
        "--every",
        type=float,
        metavar="SECONDS",
        help="run both schedules every SECONDS instead of the template's rates",
    )
    serve.add_argument(
        "--console-port",
        type=int,
        metavar="PORT",
        help="the local console's port (default: --port + 1, or any free port with --port 0)",
    )
    serve.add_argument("--no-console", action="store_true", help="do not serve the local console")
    serve.add_argument("--for-seconds", type=float, metavar="SECONDS", help="stop after this long (default: Ctrl-C)")
    serve.add_argument(
        "--orchestrator-type",
        choices=["STANDARD", "EXPRESS"],
        default="STANDARD",
        help="deploy the Orchestrator as this workflow type (the template's OrchestratorType; see docs/cost.md)",
    )
    serve.add_argument(
        "--metrics-log",
        metavar="FILE",
        help="append the functions' CloudWatch metric blobs (EMF JSON lines, most of what the steps print) to FILE "
        "(default: they are left out of stderr; a task closed as dead is said in a line)",
    )
    serve.set_defaults(handler=cmd_local_serve)
