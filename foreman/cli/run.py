"""``foreman run``: start the Orchestrator, wait for it, print its per-labourer summary.

A run with tasks to invoke hands them to its Invocations execution (the Orchestrator's output names it,
``invocations``), which claims and invokes them and whose output is the run's report: ``foreman run`` waits for that
execution too (DescribeExecution until it ends) and prints its report."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from typing import Any, TextIO

from foreman.cli.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError
from foreman.cli.options import Formatter
from foreman.cli.output import format_table, print_json, time_text
from foreman.cli.target import Target, call_aws, resolve_target


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """Start an Orchestrator execution, wait for it, print its per-labourer summary."""
    from foreman.task_input import InputError, parse_time

    try:
        now = parse_time(args.now, option="--now") if args.now else None
    except InputError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    target = resolve_target(args, ["OrchestratorArn"])
    arn = target.output("OrchestratorArn", "--state-machine-arn")
    sfn = target.client("stepfunctions")
    execution_input = {"now": int(now)} if now is not None else {}
    request: dict[str, Any] = {"stateMachineArn": arn, "input": json.dumps(execution_input)}
    if args.name:
        request["name"] = args.name
    express = target.orchestrator_type() == "EXPRESS"
    if express and not args.no_wait:
        return _run_express(args, out, target, request)
    began = time.monotonic()
    execution_arn: str = call_aws(lambda: sfn.start_execution(**request), target)["executionArn"]
    if args.no_wait:
        out.write(f"{execution_arn}\n")
        if express:
            sys.stderr.write(_EXPRESS_NO_DESCRIBE + "\n")
        return EXIT_OK
    if not args.json:
        out.write(f"started {execution_arn}\n")
        out.flush()
    described = _wait_for(sfn, execution_arn, target, args.timeout, began)
    kind = produced_by(arn, target)
    if kind == ORCHESTRATOR:
        described = _follow(args, out, target, described, began)
    return _report_run(args, out, described, time.monotonic() - began, kind=kind)


def _wait_for(sfn: Any, execution_arn: str, target: Target, timeout: float, began: float) -> dict[str, Any]:
    """DescribeExecution until the execution ends (``timeout`` seconds from ``began``); its last answer."""
    while True:
        described: dict[str, Any] = call_aws(lambda: sfn.describe_execution(executionArn=execution_arn), target)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() - began > timeout:
            raise CliError(f"execution {execution_arn} still running after {timeout:g} s (it goes on)")
        time.sleep(0.1 if target.endpoint_url else 1.0)


def handed_to(described: dict[str, Any]) -> str | None:
    """The Invocations execution an ended Orchestrator execution handed its run to (its output's ``invocations``),
    or ``None``: a run with nothing to invoke reports itself."""
    if described.get("status") != "SUCCEEDED":
        return None
    try:
        output = json.loads(described.get("output") or "{}")
    except ValueError:
        return None
    invocations = output.get("invocations") if isinstance(output, dict) else None
    return invocations if isinstance(invocations, str) and ":execution:" in invocations else None


def _follow(
    args: argparse.Namespace, out: TextIO, target: Target, described: dict[str, Any], began: float
) -> dict[str, Any]:
    """The run's end: the Orchestrator execution's own, or, when it handed its tasks over, its Invocations
    execution's once it has ended (its output is the run's report)."""
    invocations = handed_to(described)
    if invocations is None:
        return described
    if not args.json:
        out.write(f"handed over to {invocations}\n")
        out.flush()
    sfn = target.client("stepfunctions")  # the Invocations execution is Standard: it can be described
    return _wait_for(sfn, invocations, target, args.timeout, began)


_EXPRESS_NO_DESCRIBE = (
    "foreman: an Express execution cannot be described (AWS has no DescribeExecution for it): its run is in the "
    "Orchestrator's log group (level ALL), and in the Step Functions console"
)
EXPRESS_RUN_TIMEOUT = 330
"""Seconds to wait for StartSyncExecution's answer: above an Express execution's 300 s limit."""

NO_RETRIES: dict[str, Any] = {"mode": "standard", "total_max_attempts": 1}
"""One attempt in all. botocore's ``max_attempts`` counts the retries after the first (``max_attempts: 1`` is one
retry, so a timeout would start a second run); ``total_max_attempts`` counts every attempt."""


def _run_express(args: argparse.Namespace, out: TextIO, target: Target, request: dict[str, Any]) -> int:
    """An Express Orchestrator: one StartSyncExecution, which answers when the execution ends (its only way to be
    read). Not retried by the SDK: a retry would start a second run (harmless, the lease makes it busy)."""
    from botocore.config import Config

    if not args.json:
        out.write("Express Orchestrator: running it synchronously (StartSyncExecution), the only way to read its end\n")
        out.flush()
    # AWS serves StartSyncExecution on the host sync-states.<region>: an explicit endpoint serves it as it is
    config = Config(read_timeout=EXPRESS_RUN_TIMEOUT, retries=NO_RETRIES, inject_host_prefix=not target.endpoint_url)
    kwargs = {"endpoint_url": target.endpoint_url} if target.endpoint_url else {}
    sfn = target.session.client("stepfunctions", config=config, **kwargs)
    began = time.monotonic()
    answer = call_aws(lambda: sfn.start_sync_execution(**request), target)
    if not args.json:
        billing = answer.get("billingDetails", {})
        out.write(
            f"ran {answer['executionArn']} (billed {billing.get('billedDurationInMilliseconds', '?')} ms at "
            f"{billing.get('billedMemoryUsedInMB', '?')} MB)\n"
        )
    kind = produced_by(request["stateMachineArn"], target)
    if kind == ORCHESTRATOR:
        answer = _follow(args, out, target, answer, began)
    return _report_run(args, out, answer, time.monotonic() - began, kind=kind)


ORCHESTRATOR, SCAVENGER = "Orchestrator", "Scavenger"


def produced_by(state_machine_arn: str, target: Target) -> str:
    """Which of the stack's state machines an execution ran, so its output is read as that one's: ``SCAVENGER`` when
    ``state_machine_arn`` is the stack's ``ScavengerArn`` output (on an endpoint with no stack, the local
    deployment's), else ``ORCHESTRATOR``."""
    from foreman.cli.target import LOCAL_OUTPUTS

    scavenger = target.outputs.get("ScavengerArn") or (LOCAL_OUTPUTS["ScavengerArn"] if target.endpoint_url else None)
    return SCAVENGER if state_machine_arn == scavenger else ORCHESTRATOR


def _report_run(
    args: argparse.Namespace, out: TextIO, described: dict[str, Any], seconds: float, *, kind: str = ORCHESTRATOR
) -> int:
    """Print an ended execution (DescribeExecution's or StartSyncExecution's answer) of the state machine ``kind``;
    the exit code."""
    execution_arn = described["executionArn"]
    status = described["status"]
    if status != "SUCCEEDED":
        sys.stderr.write(f"foreman: execution {execution_arn} {status} after {seconds:.1f} s\n")
        sys.stderr.write(describe_failure(described, verbose=args.verbose) + "\n")
        return EXIT_FAILED
    output = json.loads(described.get("output") or "{}")
    if kind == SCAVENGER:
        text, problems = scavenger_summary(output)
        if args.json:
            print_json(output, out)
        else:
            out.write(f"{status} in {seconds:.1f} s\n{text}\n")
        for problem in problems:
            sys.stderr.write(f"foreman: {problem}\n")
        return EXIT_FAILED if problems else EXIT_OK
    problems = run_problems(output)
    if args.json:
        print_json(output, out)
    else:
        out.write(f"{status} in {seconds:.1f} s\n")
        out.write(summary_table(output) + "\n")
        for labourer_id, line in report_lines(output):
            if line.get("labourer_error"):
                problem = line["labourer_error"]
                out.write(f"  {labourer_id}: {problem.get('error')}: {problem.get('cause')}\n")
            for aside in line.get("set_aside", []):
                out.write(f"  {labourer_id}: set aside {aside['task_id']}: {aside['reason']}\n")
        lease = output.get("lease") or {}
        if lease and not lease.get("held"):
            out.write(
                f"busy: another execution holds the Orchestrator lease ({lease.get('holder')}) until "
                f"{time_text(lease.get('expires_at'))}; this run claimed nothing\n"
            )
    for problem in problems:
        sys.stderr.write(f"foreman: {problem}\n")
    return EXIT_FAILED if problems else EXIT_OK


def run_problems(output: dict[str, Any]) -> list[str]:
    """What went wrong in a run that SUCCEEDED as an execution: tasks claimed but not invoked (released, or a failed
    claim or release), and labourers whose iteration failed. ``foreman run`` exits 1 when there are any."""
    problems = []
    for labourer_id, line in report_lines(output):
        lost = line.get("released", 0) + line.get("failed", 0)
        if lost:
            errors = _error_counts(line.get("errors") or {})
            problems.append(
                f"{labourer_id}: {lost} task(s) claimed but not invoked "
                f"({line.get('released', 0)} released back to the queue, {line.get('failed', 0)} failed)"
                + (f": {errors}" if errors else "")
            )
        if line.get("labourer_error"):
            problem = line["labourer_error"]
            problems.append(f"{labourer_id}: the labourer's iteration failed: {problem.get('error')}")
    return problems


def report_lines(output: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(labourer id, line)`` of a run's output in the report's order, each line without its zero and empty fields:
    an Orchestrator's ``labourers`` maps ids to lines; a Scavenger's lines are in its ``batches``, one per labourer
    that had work, each naming its ``labourer_id``."""
    labourers = output.get("labourers")
    if isinstance(labourers, dict):
        return list(labourers.items())
    return [
        (str(line.get("labourer_id", "?")), line)
        for batch in output.get("batches") or []
        if isinstance(batch, dict)
        for line in batch.get("labourers") or []
        if isinstance(line, dict)
    ]


def scavenger_summary(output: dict[str, Any]) -> tuple[str, list[str]]:
    """A Scavenger run's output: how many labourers had work, then a table, one row per labourer it scavenged
    (archived, retried, dead, requeued, failures reported, lost races, more to do, errors), and its problems: batches
    whose call failed, labourers whose scavenging met errors. ``foreman run`` exits 1 when there are any."""
    headers = ["labourer", "archived", "retried", "dead", "requeued", "failures", "lost races", "more", "errors"]
    rows: list[list[Any]] = []
    problems: list[str] = []
    for labourer_id, line in report_lines(output):
        errors = [*line.get("errors", []), *line.get("notification_errors", [])]
        rows.append(
            [labourer_id, line.get("archived", 0), line.get("retried", 0), line.get("dead", 0),
             line.get("requeued", 0), line.get("failures_reported", 0), line.get("lost_races", 0),
             "yes" if line.get("more") else "-", len(errors) or "-"]
        )  # fmt: skip
        problems.extend(f"{labourer_id}: {error}" for error in errors)
    omitted = 0
    for batch in output.get("batches") or []:
        if isinstance(batch, dict) and batch.get("error"):  # the batch's call failed as a whole
            problems.append(f"batch {batch.get('batch', '?')} ({batch.get('size', '?')} labourers): {batch['error']}")
        omitted += int((batch.get("totals") or {}).get("omitted", 0)) if isinstance(batch, dict) else 0
    lines = [f"{output.get('with_work', 0)} of {output.get('labourers', 0)} labourer(s) had work"]
    if rows:
        lines.append(format_table(headers, rows, text=[7]))
    if omitted:
        lines.append(f"  and {omitted} more labourer line(s) left out of the report (each batch keeps 4,000 bytes)")
    for labourer_id, line in report_lines(output):
        for dead in line.get("dead_tasks", []):
            lines.append(f"  {labourer_id}: closed as dead {dead.get('task_id')}: {dead.get('reason', '')}")
    return "\n".join(lines), problems


def describe_failure(described: dict[str, Any], *, verbose: bool = False) -> str:
    """What ``describe_execution`` says about a failed execution, for a person: the error and, when the cause is a
    Lambda error (JSON with ``errorType``/``errorMessage``), its message, without the stack trace. ``verbose``
    adds the whole cause as it came."""
    error, cause = described.get("error") or "?", described.get("cause") or ""
    lines = [f"  error: {error}"]
    try:
        parsed = json.loads(cause) if cause else None
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and ("errorMessage" in parsed or "errorType" in parsed):
        kind = parsed.get("errorType")
        message = parsed.get("errorMessage", "")
        lines.append(f"  message: {kind}: {message}" if kind and kind != error else f"  message: {message}")
        if verbose:
            lines.append(f"  cause: {cause}")
        elif parsed.get("stackTrace"):
            lines.append("  (the stack trace: --verbose)")
    elif cause:
        lines.append(f"  cause: {cause}")
    return "\n".join(lines)


def _error_counts(errors: dict[str, int]) -> str:
    """``{"Lambda.ResourceNotFoundException": 2}`` -> ``"Lambda.ResourceNotFoundException x2"``."""
    return ", ".join(f"{name} x{count}" for name, count in sorted(errors.items()))


SHOWN_LABOURERS = 20
"""Up to this many labourers, ``summary_table`` shows every one; above it, the idle ones are counted by status."""


def summary_table(output: dict[str, Any]) -> str:
    """The Orchestrator's output as a table: one row per labourer, then the totals. ``errors`` names the errors of
    the released and failed tasks, so a ``released`` count always comes with its reason. Above
    ``SHOWN_LABOURERS`` labourers, the idle ones (nothing queued, running, fetched or done) are one line of counts."""
    from foreman_core.config import STATUS_NAMES
    from foreman_core.report_line import is_idle, set_aside_count

    headers = ["labourer", "status", "set by", "running", "desired", "fetched", "invoked", "skipped", "released",
               "failed", "set aside", "deferred", "errors"]  # fmt: skip
    rows: list[list[Any]] = []
    lines = report_lines(output)
    idle: Counter[int] = Counter()
    if len(lines) > SHOWN_LABOURERS:  # a large deployment: the labourers with nothing queued, running or done, counted
        idle = Counter(line["status"] for _, line in lines if is_idle(line))
        lines = [(labourer_id, line) for labourer_id, line in lines if not is_idle(line)]
    for labourer_id, line in lines:
        status = f"{line['status']} {STATUS_NAMES.get(line['status'], '?')}"
        rows.append(
            [labourer_id, status, line.get("set_by") or "-", line.get("running", 0), line.get("desired", 0),
             line.get("fetched", 0), line.get("invoked", 0), line.get("skipped", 0), line.get("released", 0),
             line.get("failed", 0), set_aside_count(line),
             line.get("deferred", 0), _error_counts(line.get("errors") or {}) or "-"]
        )  # fmt: skip
    totals = output.get("totals", {})
    rows.append(
        ["total", "", "", "", totals.get("desired", 0), totals.get("fetched", 0), totals.get("invoked", 0),
         totals.get("skipped", 0), totals.get("released", 0), totals.get("failed", 0), totals.get("set_aside", 0),
         totals.get("deferred", 0), ""]
    )  # fmt: skip
    table = format_table(headers, rows, left=3, text=[len(headers) - 1])
    if idle:
        by_status = ", ".join(
            f"{count} at {status} {STATUS_NAMES.get(status, '?')}" for status, count in sorted(idle.items())
        )
        table += f"\n({sum(idle.values())} more labourers with nothing queued, running or done: {by_status})"
    return table


# ---------------------------------------------------------------------------------------------------------------------


def _execution_name(name: str) -> str:
    from foreman.execution_names import execution_name_problem

    problem = execution_name_problem(name)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{name!r} {problem}")
    return name


def add_parser(commands: Any, aws: argparse.ArgumentParser) -> None:
    """``foreman run`` and its options."""
    run = commands.add_parser(
        "run",
        parents=[aws],
        help="start the Orchestrator, wait, print its summary",
        formatter_class=Formatter,
        description="Start one Orchestrator execution (what the schedule does every minute), wait for it and print\n"
        "its per-labourer summary. Exit code 1 if the execution fails, with its error and cause.",
    )
    run.add_argument(
        "--state-machine-arn",
        metavar="ARN",
        help="the state machine to run: the Orchestrator (default: stack output OrchestratorArn), or the Scavenger "
        "(stack output ScavengerArn), whose summary is a row per labourer: archived, retried, dead, requeued",
    )
    run.add_argument("--now", metavar="TIME", help="the run's clock (unix seconds or ISO 8601; default: now)")
    run.add_argument(
        "--name",
        type=_execution_name,
        help="the execution's name: 1-80 characters, no spaces, brackets, wildcards, control characters or any of "
        '"#%%\\^|~`$&,;:/ (default: a new UUID)',
    )
    run.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS", help="stop waiting after this long")
    run.add_argument("--no-wait", action="store_true", help="print the execution ARN and return at once")
    run.add_argument("--json", action="store_true", help="print the execution's raw output (JSON)")
    run.add_argument(
        "--verbose", action="store_true", help="on a failed execution, print its whole cause (with any stack trace)"
    )
    run.set_defaults(handler=cmd_run)
