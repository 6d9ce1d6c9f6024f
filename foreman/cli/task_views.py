"""``foreman tasks show`` and ``foreman tasks list``: one task where it is (its attempts, its last error), or a
labourer's tasks by state."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from foreman.cli.errors import EXIT_OK, EXIT_USAGE, CliError
from foreman.cli.options import Formatter
from foreman.cli.output import format_table, print_json
from foreman.cli.target import Target, call_aws, resolve_target, unknown_labourer

if TYPE_CHECKING:
    from foreman_core.config import OrchestratorConfig
    from foreman_core.task_store import Task, TaskStore

TIME_ATTRIBUTES = ("created_at", "completed_at", "failed_at", "closed_at", "desired_launch_time")
"""The task attributes that are epoch seconds, shown as times."""

STATES = ("queued", "running", "expired", "completed", "retry")
"""What ``tasks list --state`` can select: the tasks table's four states, and the retry table."""


def _time(value: Any) -> str:
    try:
        return datetime.fromtimestamp(float(value), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(value)


def last_error(task: Task) -> str | None:
    """What the task last failed with: the error its labourer reported (``result_error_type``/``_message``, as
    TaskDestination stores it), else why it was closed (``close_reason``); ``None`` when there is neither."""
    kind, message = task.attributes.get("result_error_type"), task.attributes.get("result_error_message")
    if kind or message:
        return ": ".join(str(part) for part in (kind, message) if part)
    reason = task.attributes.get("close_reason")
    return str(reason) if reason else None


def _store_and_config(args: argparse.Namespace) -> tuple[Target, TaskStore, OrchestratorConfig]:
    from foreman_core.task_store import TaskStore

    target = resolve_target(args, ["TasksTableName", "ConfigLocation"])
    config = target.config()
    store = TaskStore(target.client("dynamodb"), config.tables, delta=config.greenfield_invocation_delta)
    return target, store, config


def cmd_tasks_show(args: argparse.Namespace, out: TextIO) -> int:
    """One task: where it is (its state in the tasks table, the retry table or the closed table), its attempts, its
    last error and every stored attribute."""
    from foreman.status import markers_at
    from foreman_core.task_store import Where

    target, store, config = _store_and_config(args)
    now = time.time()

    def find() -> Any:
        located = store.locate(args.task_id)
        if located.where is Where.UNKNOWN:  # the retry table is keyed by labourer: ask each one's
            for labourer in config.labourers:
                located = store.locate(args.task_id, labourer_id=labourer.id)
                if located.where is not Where.UNKNOWN:
                    break
        if located.task is not None and located.where.value in STATES[:4]:  # its state under its own settings
            labourer_ids = {labourer.id for labourer in config.labourers}
            if located.task.labourer_id in labourer_ids:
                markers = markers_at(config, config.labourer(located.task.labourer_id), now)
                located = store.locate(args.task_id, markers=markers)
        return located

    located = call_aws(find, target, tables=config.tables)
    if located.task is None:
        raise CliError(f"no task {args.task_id!r} in {', '.join(dict.fromkeys(_table_names(config)))}", EXIT_USAGE)
    task = located.task
    if args.json:
        print_json({"where": located.where.value, "last_error": last_error(task), "task": task.attributes}, out)
        return EXIT_OK
    rows = [
        ["task", task.task_id],
        ["labourer", task.labourer_id],
        ["where", located.where.value],
        ["attempts", task.attempts],
        ["last error", last_error(task) or "-"],
    ]
    for name, value in sorted(task.attributes.items()):
        if name in ("task_id", "labourer_id", "attempts"):
            continue
        rows.append([name, _time(value) if name in TIME_ATTRIBUTES else value])
    out.write(format_table(["field", "value"], rows, text=[1]).split("\n", 1)[1] + "\n")
    return EXIT_OK


def _table_names(config: OrchestratorConfig) -> list[str]:
    return [config.tables.tasks, config.tables.retry, config.tables.closed]


def cmd_tasks_list(args: argparse.Namespace, out: TextIO) -> int:
    """A labourer's tasks, in queue order (the retry table's soonest first), with their state and attempts."""
    from foreman.status import markers_at

    target, store, config = _store_and_config(args)
    if args.labourer not in {labourer.id for labourer in config.labourers}:
        raise unknown_labourer(args.labourer, config)
    markers = markers_at(config, config.labourer(args.labourer), time.time())
    wanted = set(args.state or STATES)

    def read() -> list[tuple[str, Task]]:
        found: list[tuple[str, Task]] = []
        if wanted - {"retry"}:
            for task in store.labourer_tasks(args.labourer):
                state = task.state(markers).value
                if state in wanted:
                    found.append((state, task))
                    if len(found) >= args.limit:
                        return found
        if "retry" in wanted:
            found.extend(("retry", task) for task in store.waiting_retries(args.labourer, limit=args.limit))
        return found[: args.limit]

    found = call_aws(read, target, tables=config.tables)
    if args.json:
        print_json([{"state": state, "last_error": last_error(task), **task.attributes} for state, task in found], out)
        return EXIT_OK
    rows = [
        [task.task_id, state, task.attempts, _time(task.created_at),
         _time(task.attributes["desired_launch_time"]) if state == "retry" else "-", last_error(task) or "-"]
        for state, task in found
    ]  # fmt: skip
    out.write(format_table(["task", "state", "attempts", "created", "retry at", "last error"], rows,
                           text=[1, 3, 4, 5]) + "\n")  # fmt: skip
    if len(found) >= args.limit:
        out.write(f"(the first {args.limit}: --limit for more)\n")
    return EXIT_OK


def add_parsers(tasks_commands: Any, aws: argparse.ArgumentParser) -> None:
    """``foreman tasks show`` and ``foreman tasks list``."""
    show = tasks_commands.add_parser(
        "show",
        parents=[aws],
        help="one task: where it is, its attempts, its last error",
        formatter_class=Formatter,
        description="Find a task by its id in the tasks table, the retry table or the closed table, and show where it\n"
        "is (queued, running, expired, completed, retry, closed-completed, closed-dead), its attempts, its last\n"
        "error (what its labourer reported, or why it was closed) and every stored attribute. Exit code 2 if no\n"
        "table holds it.",
    )
    show.add_argument("task_id", metavar="ID", help="the task's id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=cmd_tasks_show)
    listing = tasks_commands.add_parser(
        "list",
        parents=[aws],
        help="a labourer's tasks, by state",
        formatter_class=Formatter,
        description="A labourer's tasks in the tasks table, in queue order, and in the retry table, soonest first:\n"
        "their state, attempts and last error. Closed tasks: `foreman tasks show ID`, or `foreman status`'s counts.",
    )
    listing.add_argument("--labourer", required=True, metavar="ID", help="the labourer (as in the config)")
    listing.add_argument(
        "--state", action="append", choices=STATES, help="only tasks in this state (repeatable; default: all)"
    )
    listing.add_argument("--limit", type=int, default=50, metavar="N", help="show at most N tasks")
    listing.add_argument("--json", action="store_true", help="print JSON, every stored attribute")
    listing.set_defaults(handler=cmd_tasks_list)
