"""``foreman tasks``: queue tasks for a labourer (``show`` and ``list``: ``task_views``)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from foreman.cli import task_views
from foreman.cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CliError
from foreman.cli.options import Formatter
from foreman.cli.output import print_json
from foreman.cli.target import call_aws, resolve_target, unknown_labourer

BATCH = 100
"""``tasks create --file`` writes this many tasks at a time; a Ctrl-C lets the batch being written finish, so what
was created is exactly known and a re-run with ``--from-line`` queues the rest, once."""


def cmd_tasks_create(args: argparse.Namespace, out: TextIO) -> int:
    """Queue tasks for a labourer: one, many from a JSON-lines file, or delayed until --not-before."""
    from foreman.task_input import InputError, numbered_json_lines, parse_payload, parse_time
    from foreman_core.task_store import TaskExistsError, TaskStore, UnprocessedWritesError
    from foreman_core.task_validation import new_task_problem

    def check(text: str) -> str | None:  # what every run would set aside is refused here, with the run's reason
        return new_task_problem(args.labourer, text, task_id=args.task_id)

    try:  # all input is checked before anything is read from or written to AWS
        if args.file is not None:
            if args.task_id:
                raise InputError("--task-id names one task: use it with --payload, not --file")
            source = "stdin" if args.file == "-" else args.file
            numbered = numbered_json_lines(_read_input(args.file), source=source, check=check, from_line=args.from_line)
        else:
            if args.from_line != 1:
                raise InputError("--from-line resumes a --file: use it with --file")
            numbered = [(0, parse_payload(args.payload if args.payload is not None else "{}", check=check))]
        not_before = parse_time(args.not_before, option="--not-before") if args.not_before else None
        if not_before is not None and float(not_before).is_integer():
            not_before = int(not_before)
    except InputError as error:
        raise CliError(str(error), EXIT_USAGE) from None

    target = resolve_target(args, ["TasksTableName", "ConfigLocation"] if args.verify else ["TasksTableName"])
    if args.verify:
        config = target.config()
        if args.labourer not in {labourer.id for labourer in config.labourers}:
            raise unknown_labourer(args.labourer, config)
        store = TaskStore(
            target.client("dynamodb"),
            config.tables,
            delta=config.greenfield_invocation_delta,
            step=config.greenfield_task_step,
        )
    else:
        store = TaskStore(target.client("dynamodb"), target.tables())

    def create(payloads: list[dict[str, Any]]) -> list[Any]:
        if not_before is not None:
            return [
                store.create_delayed_task(args.labourer, payload, not_before=not_before, task_id=args.task_id)
                for payload in payloads
            ]
        if args.file is None:
            return [store.create_task(args.labourer, payloads[0], task_id=args.task_id)]
        return store.create_tasks(args.labourer, payloads)

    try:
        tasks, next_line = call_aws(lambda: _create_in_batches(create, numbered), target, tables=store.tables)
    except TaskExistsError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    except UnprocessedWritesError as error:
        raise CliError(str(error)) from None
    _report_created(
        args, out, [task.task_id for task in tasks], not_before=not_before, numbered=numbered, next_line=next_line
    )
    return EXIT_OK if next_line is None else EXIT_INTERRUPTED


def _create_in_batches(
    create: Callable[[list[dict[str, Any]]], list[Any]], numbered: list[tuple[int, dict[str, Any]]]
) -> tuple[list[Any], int | None]:
    """``create`` each ``BATCH`` of payloads in turn: (the tasks created, ``None``), or, after a Ctrl-C, (those
    created by then, the line number of the first payload not written). A first Ctrl-C waits for the batch being
    written; a second one stops at once (``KeyboardInterrupt``)."""
    created: list[Any] = []
    with _interrupt_between_batches() as interrupted:
        for start in range(0, len(numbered), BATCH):
            created.extend(create([payload for _, payload in numbered[start : start + BATCH]]))
            if interrupted.is_set() and start + BATCH < len(numbered):
                return created, numbered[start + BATCH][0]
    return created, None


@contextmanager
def _interrupt_between_batches() -> Iterator[threading.Event]:
    """An event that the first Ctrl-C (SIGINT) sets instead of raising ``KeyboardInterrupt`` (in the main thread
    only; elsewhere it never is set)."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return

    def handle(signum: int, frame: Any) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()
        sys.stderr.write("foreman: stopping after the batch being written (Ctrl-C again to stop at once)\n")

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def _report_created(
    args: argparse.Namespace,
    out: TextIO,
    ids: list[str],
    *,
    not_before: float | None,
    numbered: list[tuple[int, dict[str, Any]]],
    next_line: int | None,
) -> None:
    """What was created; after a Ctrl-C, how far it got and the command that queues the rest."""
    from foreman.task_input import format_time

    if args.json:
        due = {"not_before": not_before, "not_before_iso": format_time(not_before)} if not_before is not None else {}
        resume = {"interrupted": True, "next_line": next_line} if next_line is not None else {}
        print_json({"labourer_id": args.labourer, "created": len(ids), "task_ids": ids, **due, **resume}, out)
    else:
        noun = "task" if len(ids) == 1 else "tasks"
        where = f"waiting until {format_time(not_before)} (retry table)" if not_before is not None else "queued"
        out.write(f"created {len(ids)} {noun} for {args.labourer}, {where}\n")
        shown = ids if len(ids) <= 10 else [*ids[:5], f"... {len(ids) - 10} more ...", *ids[-5:]]
        for task_id in shown:
            out.write(f"  {task_id}\n")
    if next_line is not None:
        out.flush()
        source = "stdin" if args.file == "-" else args.file
        sys.stderr.write(
            f"foreman: interrupted: created {len(ids)} of {len(numbered)} tasks, lines {numbered[0][0]} to "
            f"{next_line - 1} of {source}; nothing from line {next_line} on was written. To queue the rest, once:\n"
            f"  foreman tasks create --labourer {args.labourer} --file {args.file} --from-line {next_line} "
            "(with the same options)\n"
        )


def _read_input(path: str) -> str:
    from foreman.task_input import InputError

    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read: {error}") from None


# ---------------------------------------------------------------------------------------------------------------------


def add_parser(commands: Any, aws: argparse.ArgumentParser) -> None:
    """``foreman tasks``: its subcommands and options."""
    tasks = commands.add_parser(
        "tasks", help="create, show or list tasks", description="Work with tasks.", formatter_class=Formatter
    )
    tasks_commands = tasks.add_subparsers(dest="tasks_command", metavar="SUBCOMMAND", required=True)
    create = tasks_commands.add_parser(
        "create",
        parents=[aws],
        help="queue tasks for a labourer: one, many from a JSON-lines file, or delayed",
        formatter_class=Formatter,
        description="Queue tasks for a labourer, at the end of its queue (sosw's greenfield positions).\n\n"
        '  one:      foreman tasks create --labourer reports --payload \'{"customer": "acme"}\'\n'
        "  many:     foreman tasks create --labourer reports --file tasks.jsonl   (one JSON object per line)\n"
        "  delayed:  foreman tasks create --labourer reports --payload '{}' --not-before 2026-01-01T09:00:00Z\n\n"
        "Every payload is checked before anything is written: an invalid line names its line number, and nothing\n"
        "is created (exit code 2). The labourer must be in the config (exit code 2 otherwise, listing those that are).",
    )
    create.add_argument("--labourer", required=True, metavar="ID", help="the labourer (as in the config's labourers)")
    payload = create.add_mutually_exclusive_group()
    payload.add_argument("--payload", metavar="JSON", help="one task's payload, a JSON object (default: {})")
    payload.add_argument(
        "--file",
        metavar="PATH",
        help="a JSON-lines file, one payload per line ('-' for stdin); blank and # lines skipped",
    )
    create.add_argument(
        "--not-before",
        metavar="TIME",
        help="create delayed tasks that start no earlier than TIME (unix seconds or ISO 8601; UTC without an offset)",
    )
    create.add_argument(
        "--from-line",
        type=int,
        default=1,
        metavar="N",
        help="with --file: start at line N (where an interrupted run said to resume)",
    )
    create.add_argument("--task-id", metavar="ID", help="the task's id, with --payload (default: a new UUID)")
    create.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="do not read the config to check that the labourer exists",
    )
    create.add_argument("--json", action="store_true", help="print the created task ids as JSON")
    create.set_defaults(handler=cmd_tasks_create)
    task_views.add_parsers(tasks_commands, aws)
