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
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from foreman_core.config import OrchestratorConfig, Tables

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT = "123456789012"
DEFAULT_STACK_NAME = "foreman"
LOCAL_OUTPUTS: dict[str, str] = {
    "OrchestratorArn": f"arn:aws:states:{LOCAL_REGION}:{LOCAL_ACCOUNT}:stateMachine:foreman-Orchestrator",
    "TasksTableName": "sosw_tasks",
    "ClosedTasksTableName": "sosw_closed_tasks",
    "RetryTasksTableName": "sosw_retry_tasks",
    "ConfigLocation": "ssm:/foreman/orchestrator_config",
    "LoadConfigFunctionArn": f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:foreman-LoadConfigFunction",
}
"""What ``foreman local serve`` deploys (the template's defaults): used with ``--endpoint-url`` when the endpoint has
no CloudFormation stack to read them from."""


class CliError(Exception):
    """A failure to report as ``foreman: error: <message>`` with exit code ``code``."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------------------------------------------------
# Where the stack is


@dataclass
class Target:
    """The deployment a command works on: AWS clients, table names, the Orchestrator, the config location."""

    session: Any
    endpoint_url: str | None
    outputs: dict[str, str]
    stack_name: str
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this target (one per service)."""
        if service not in self._clients:
            kwargs = {"endpoint_url": self.endpoint_url} if self.endpoint_url else {}
            self._clients[service] = self.session.client(service, **kwargs)
        return self._clients[service]

    def output(self, name: str, option: str) -> str:
        """A stack output (or its explicit option); ``CliError`` naming the option if there is none."""
        value = self.outputs.get(name)
        if not value:
            raise CliError(f"the stack {self.stack_name!r} has no output {name}; pass {option}", EXIT_USAGE)
        return value

    def orchestrator_type(self) -> str:
        """``STANDARD`` or ``EXPRESS``: the stack's ``OrchestratorType`` output, else the Orchestrator's own type
        (a local endpoint has no stack), else STANDARD (what an older stack deployed)."""
        if self.outputs.get("OrchestratorType"):
            return self.outputs["OrchestratorType"]
        arn = self.outputs.get("OrchestratorArn")
        if arn:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                return str(self.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["type"])
            except (ClientError, BotoCoreError):
                pass
        return "STANDARD"

    def tables(self) -> Tables:
        """The table names of the deployment (sosw's names where the stack gives none)."""
        from foreman_core.config import Tables

        defaults = Tables()
        return Tables(
            tasks=self.outputs.get("TasksTableName") or defaults.tasks,
            closed=self.outputs.get("ClosedTasksTableName") or defaults.closed,
            retry=self.outputs.get("RetryTasksTableName") or defaults.retry,
        )

    def raw_config(self) -> dict[str, Any]:
        """The JSON object at the deployment's config location, not yet validated."""
        from foreman_core.config_source import ConfigSourceError, load_raw_config

        location = self.output("ConfigLocation", "--config-location")
        try:
            return load_raw_config(location, session_or_clients=self.client)
        except ConfigSourceError as error:
            raise CliError(f"cannot read the config: {error}") from None

    def config(self) -> OrchestratorConfig:
        """The orchestrator config at the deployment's config location, validated as LoadConfig validates it: with
        the deployment's table names, which it must not contradict."""
        from foreman_core.config import ConfigError, check_deployment_tables, parse_config

        raw = self.raw_config()
        try:
            config = parse_config(raw, tables=self.tables(), orchestrator_type=self.orchestrator_type())
            check_deployment_tables(config, self.tables())
        except ConfigError as error:
            location = self.output("ConfigLocation", "--config-location")
            raise CliError(f"the config at {location} is invalid: {error}") from None
        return config


_EXPLICIT = {
    "state_machine_arn": "OrchestratorArn",
    "tasks_table": "TasksTableName",
    "closed_table": "ClosedTasksTableName",
    "retry_table": "RetryTasksTableName",
    "config_location": "ConfigLocation",
}


def resolve_target(args: argparse.Namespace, needed: Sequence[str]) -> Target:
    """The target named by the AWS options: explicit options first, then the stack's outputs (read only if one of
    the ``needed`` outputs was not given), then, on an ``--endpoint-url``, the local deployment's names."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    endpoint = args.endpoint_url or None
    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
    except BotoCoreError as error:
        raise CliError(f"AWS session: {error}", EXIT_USAGE) from None
    if endpoint:
        if session.region_name is None:
            session = boto3.Session(profile_name=args.profile, region_name=LOCAL_REGION)
        if session.get_credentials() is None:  # a local endpoint accepts any credentials
            session = boto3.Session(
                aws_access_key_id="local", aws_secret_access_key="local", region_name=session.region_name
            )
    explicit = {output: getattr(args, option) for option, output in _EXPLICIT.items() if getattr(args, option, None)}
    stack_name = getattr(args, "stack_name", DEFAULT_STACK_NAME)  # `config validate` takes no stack options
    target = Target(session, endpoint, dict(explicit), stack_name)
    if all(name in explicit for name in needed):
        return target
    try:
        stacks = target.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    except ClientError as error:
        if not endpoint:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", str(error))
            hint = " (deploy it with `sam deploy --guided`, or pass --stack-name)" if code == "ValidationError" else ""
            raise CliError(f"cannot read the stack {stack_name!r}: {message}{hint}") from None
        outputs = dict(LOCAL_OUTPUTS)
    except NoCredentialsError:
        raise CliError("no AWS credentials found (configure them, or pass --profile / --endpoint-url)") from None
    except NoRegionError:
        raise CliError("no AWS region configured: pass --region (or set AWS_REGION)", EXIT_USAGE) from None
    except BotoCoreError as error:
        raise CliError(_unreachable(error, endpoint)) from None
    target.outputs = {**outputs, **explicit}
    return target


def _missing_tables(target: Target, tables: Tables) -> list[str]:
    """Which of ``tables`` (tasks, closed, retry) DynamoDB does not know."""
    from botocore.exceptions import BotoCoreError, ClientError

    from foreman_core.aws_errors import error_code

    missing = []
    for name in dict.fromkeys((tables.tasks, tables.closed, tables.retry)):
        try:
            target.client("dynamodb").describe_table(TableName=name)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                missing.append(name)
        except BotoCoreError:
            return []
    return missing


def _unreachable(error: Exception, endpoint: str | None) -> str:
    if endpoint:
        return f"cannot reach {endpoint}: {error} (is `foreman local serve` running there?)"
    return f"cannot reach AWS: {error}"


# ---------------------------------------------------------------------------------------------------------------------
# Output helpers


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, left: int = 1, text: Sequence[int] = (), indent: str = ""
) -> str:
    """Plain-text columns, aligned: the first ``left`` columns and those in ``text`` to the left, the others (numbers)
    to the right."""
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[index]) for row in cells) for index in range(len(headers))]
    lines = []
    for row in cells:
        parts = [
            cell.ljust(w) if i < left or i in text else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append(indent + "  ".join(parts).rstrip())
    return "\n".join(lines)


def _print_json(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, indent=2, default=str) + "\n")


def _unknown_labourer(labourer_id: str, config: OrchestratorConfig) -> CliError:
    known = ", ".join(labourer.id for labourer in config.labourers) or "none"
    return CliError(f"unknown labourer {labourer_id!r}; the config's labourers are: {known}", EXIT_USAGE)


# ---------------------------------------------------------------------------------------------------------------------
# tasks create


def cmd_tasks_create(args: argparse.Namespace, out: TextIO) -> int:
    """Queue tasks for a labourer: one, many from a JSON-lines file, or delayed until --not-before."""
    from foreman.task_input import InputError, format_time, parse_json_lines, parse_payload, parse_time
    from foreman_core.task_store import TaskExistsError, TaskStore, UnprocessedWritesError
    from foreman_core.task_validation import new_task_problem

    def check(text: str) -> str | None:  # what every run would set aside is refused here, with the run's reason
        return new_task_problem(args.labourer, text, task_id=args.task_id)

    try:  # all input is checked before anything is read from or written to AWS
        if args.file is not None:
            if args.task_id:
                raise InputError("--task-id names one task: use it with --payload, not --file")
            source = "stdin" if args.file == "-" else args.file
            payloads = parse_json_lines(_read_input(args.file), source=source, check=check)
        else:
            payloads = [parse_payload(args.payload if args.payload is not None else "{}", check=check)]
        not_before = parse_time(args.not_before, option="--not-before") if args.not_before else None
        if not_before is not None and float(not_before).is_integer():
            not_before = int(not_before)
    except InputError as error:
        raise CliError(str(error), EXIT_USAGE) from None

    target = resolve_target(args, ["TasksTableName", "ConfigLocation"] if args.verify else ["TasksTableName"])
    if args.verify:
        config = target.config()
        if args.labourer not in {labourer.id for labourer in config.labourers}:
            raise _unknown_labourer(args.labourer, config)
        store = TaskStore(
            target.client("dynamodb"),
            config.tables,
            delta=config.greenfield_invocation_delta,
            step=config.greenfield_task_step,
        )
    else:
        store = TaskStore(target.client("dynamodb"), target.tables())

    def create() -> list[Any]:
        if not_before is not None:
            return [
                store.create_delayed_task(args.labourer, payload, not_before=not_before, task_id=args.task_id)
                for payload in payloads
            ]
        if len(payloads) == 1 and args.file is None:
            return [store.create_task(args.labourer, payloads[0], task_id=args.task_id)]
        return store.create_tasks(args.labourer, payloads)

    try:
        tasks = _aws(create, target)
    except TaskExistsError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    except UnprocessedWritesError as error:
        raise CliError(str(error)) from None
    ids = [task.task_id for task in tasks]
    if args.json:
        due = {"not_before": not_before, "not_before_iso": format_time(not_before)} if not_before is not None else {}
        _print_json({"labourer_id": args.labourer, "created": len(ids), "task_ids": ids, **due}, out)
        return EXIT_OK
    noun = "task" if len(ids) == 1 else "tasks"
    where = f"waiting until {format_time(not_before)} (retry table)" if not_before is not None else "queued"
    out.write(f"created {len(ids)} {noun} for {args.labourer}, {where}\n")
    shown = ids if len(ids) <= 10 else [*ids[:5], f"... {len(ids) - 10} more ...", *ids[-5:]]
    for task_id in shown:
        out.write(f"  {task_id}\n")
    return EXIT_OK


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
# status


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
            raise _unknown_labourer(labourer_id, config)
    report = _aws(
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
        _print_json({"now": now, "labourers": [line.to_dict() for line in report], **errors}, out)
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


def _aws(call: Callable[[], Any], target: Target, *, tables: Tables | None = None) -> Any:
    """``call()``, with AWS errors as ``CliError``s; a missing DynamoDB table is named when ``tables`` are given."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code", "error")
        missing = _missing_tables(target, tables) if code == "ResourceNotFoundException" and tables else []
        if missing:
            names = ", ".join(repr(name) for name in missing)
            raise CliError(
                f"AWS error: {code}: no DynamoDB table {names} at {target.endpoint_url or 'AWS'} (does the config or "
                "--tasks-table/--closed-table/--retry-table name the deployment's tables?)"
            ) from None
        raise CliError(f"AWS error: {code}: {details.get('Message', error)}") from None
    except BotoCoreError as error:
        raise CliError(_unreachable(error, target.endpoint_url)) from None


# ---------------------------------------------------------------------------------------------------------------------
# run


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
    execution_arn: str = _aws(lambda: sfn.start_execution(**request), target)["executionArn"]
    if args.no_wait:
        out.write(f"{execution_arn}\n")
        if express:
            sys.stderr.write(_EXPRESS_NO_DESCRIBE + "\n")
        return EXIT_OK
    if not args.json:
        out.write(f"started {execution_arn}\n")
        out.flush()
    while True:
        described = _aws(lambda: sfn.describe_execution(executionArn=execution_arn), target)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() - began > args.timeout:
            raise CliError(f"execution {execution_arn} still running after {args.timeout:g} s (it goes on)")
        time.sleep(0.1 if target.endpoint_url else 1.0)
    return _report_run(args, out, described, time.monotonic() - began)


_EXPRESS_NO_DESCRIBE = (
    "foreman: an Express execution cannot be described (AWS has no DescribeExecution for it): its run is in the "
    "Orchestrator's log group (level ALL), and in the Step Functions console"
)
EXPRESS_RUN_TIMEOUT = 330
"""Seconds to wait for StartSyncExecution's answer: above an Express execution's 300 s limit."""


def _run_express(args: argparse.Namespace, out: TextIO, target: Target, request: dict[str, Any]) -> int:
    """An Express Orchestrator: one StartSyncExecution, which answers when the execution ends (its only way to be
    read). Not retried by the SDK: a retry would start a second run (harmless, the lease makes it busy)."""
    from botocore.config import Config

    if not args.json:
        out.write("Express Orchestrator: running it synchronously (StartSyncExecution), the only way to read its end\n")
        out.flush()
    # AWS serves StartSyncExecution on the host sync-states.<region>: an explicit endpoint serves it as it is
    config = Config(
        read_timeout=EXPRESS_RUN_TIMEOUT, retries={"max_attempts": 1}, inject_host_prefix=not target.endpoint_url
    )
    kwargs = {"endpoint_url": target.endpoint_url} if target.endpoint_url else {}
    sfn = target.session.client("stepfunctions", config=config, **kwargs)
    began = time.monotonic()
    answer = _aws(lambda: sfn.start_sync_execution(**request), target)
    if not args.json:
        billing = answer.get("billingDetails", {})
        out.write(
            f"ran {answer['executionArn']} (billed {billing.get('billedDurationInMilliseconds', '?')} ms at "
            f"{billing.get('billedMemoryUsedInMB', '?')} MB)\n"
        )
    return _report_run(args, out, answer, time.monotonic() - began)


def _report_run(args: argparse.Namespace, out: TextIO, described: dict[str, Any], seconds: float) -> int:
    """Print an ended execution (DescribeExecution's or StartSyncExecution's answer); the exit code."""
    execution_arn = described["executionArn"]
    status = described["status"]
    if status != "SUCCEEDED":
        sys.stderr.write(f"foreman: execution {execution_arn} {status} after {seconds:.1f} s\n")
        sys.stderr.write(describe_failure(described, verbose=args.verbose) + "\n")
        return EXIT_FAILED
    output = json.loads(described.get("output") or "{}")
    problems = run_problems(output)
    if args.json:
        _print_json(output, out)
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
                f"{_time_text(lease.get('expires_at'))}; this run claimed nothing\n"
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
    """``(labourer id, line)`` of an Orchestrator run's output (``labourers`` maps ids to lines, each without its
    zero and empty fields) in the report's order."""
    return list((output.get("labourers") or {}).items())


def _time_text(epoch: Any) -> str:
    try:
        return datetime.fromtimestamp(float(epoch), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError):
        return "an unknown time"


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
# config


def _load_config_argument(args: argparse.Namespace) -> tuple[str, Any]:
    """The config named by FILE (a path, ``-``, or an ``ssm:``/``dynamodb:`` location): (where, raw JSON object).

    Raises ``CliError``: exit 2 when it cannot be read, 1 when it is not JSON (an invalid config)."""
    from foreman_core.config import loads_json
    from foreman_core.config_source import ConfigSourceError, FileLocation, load_raw_config, parse_location

    name = args.file
    if name.startswith(("ssm:", "dynamodb:")):
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
        _aws(lambda: store_config(target.client, location, text), target)
    except ConfigTooLargeError as error:
        raise CliError(f"{where}: {error}; nothing was stored") from None
    except ValueError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    out.write(f"stored {where} at {location}: {len(config.labourers)} labourers\n")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------------------------
# local


def cmd_local_demo(args: argparse.Namespace, out: TextIO) -> int:
    """The one-command demo on the embedded stack."""
    from foreman.demo import DemoError, DemoOptions, run_demo

    if args.ticks < 1:
        raise CliError("--ticks must be at least 1", EXIT_USAGE)
    try:
        result = run_demo(DemoOptions(ticks=args.ticks, output=Path(args.output), seed=args.seed), out)
    except DemoError as error:
        raise CliError(f"the demo failed: {error}") from None
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_local_serve(args: argparse.Namespace, out: TextIO) -> int:
    """The local stack as an AWS endpoint on loopback until Ctrl-C (or --for-seconds)."""
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
    )
    return serve(options, out)


# ---------------------------------------------------------------------------------------------------------------------
# The parser


class _Formatter(argparse.RawDescriptionHelpFormatter):
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


def _connection_options() -> argparse.ArgumentParser:
    """Only how to reach AWS: for a command that reads one named location and no stack."""
    parent = argparse.ArgumentParser(add_help=False)
    _connection_arguments(parent.add_argument_group("how to reach AWS (for an ssm:, dynamodb: or s3: location)"))
    return parent


def _aws_options() -> argparse.ArgumentParser:
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
        "--state-machine-arn", metavar="ARN", help="the Orchestrator's ARN (default: stack output OrchestratorArn)"
    )
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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("foreman")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _execution_name(name: str) -> str:
    from foreman.execution_names import execution_name_problem

    problem = execution_name_problem(name)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{name!r} {problem}")
    return name


def build_parser() -> argparse.ArgumentParser:
    """The ``foreman`` argument parser, with every command and its options."""
    aws = _aws_options()
    parser = argparse.ArgumentParser(
        prog="foreman",
        description="Foreman: run queued tasks on worker Lambdas (labourers) without overloading what they depend on.",
        epilog="Exit codes: 0 ok, 1 failed (invalid config, failed execution, AWS error), 2 bad usage or input.\n"
        "Run `foreman COMMAND --help` for a command's options.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    tasks = commands.add_parser(
        "tasks", help="create tasks", description="Work with tasks.", formatter_class=_Formatter
    )
    tasks_commands = tasks.add_subparsers(dest="tasks_command", metavar="SUBCOMMAND", required=True)
    create = tasks_commands.add_parser(
        "create",
        parents=[aws],
        help="queue tasks for a labourer: one, many from a JSON-lines file, or delayed",
        formatter_class=_Formatter,
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
    create.add_argument("--task-id", metavar="ID", help="the task's id, with --payload (default: a new UUID)")
    create.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="do not read the config to check that the labourer exists",
    )
    create.add_argument("--json", action="store_true", help="print the created task ids as JSON")
    create.set_defaults(handler=cmd_tasks_create)

    status = commands.add_parser(
        "status",
        parents=[aws],
        help="per labourer: queued, running, expired, completed, retry-waiting, closed, health",
        formatter_class=_Formatter,
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

    run = commands.add_parser(
        "run",
        parents=[aws],
        help="start the Orchestrator, wait, print its summary",
        formatter_class=_Formatter,
        description="Start one Orchestrator execution (what the schedule does every minute), wait for it and print\n"
        "its per-labourer summary. Exit code 1 if the execution fails, with its error and cause.",
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

    config = commands.add_parser(
        "config", help="validate or store an orchestrator config", formatter_class=_Formatter,
        description="Work with the orchestrator config (sosw's format).",
    )  # fmt: skip
    config_commands = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    validate = config_commands.add_parser(
        "validate",
        parents=[_connection_options()],
        help="check a config: 'valid: N labourers', or every problem with its path",
        formatter_class=_Formatter,
        description="Check an orchestrator config. FILE is a JSON file, '-' for stdin, or a location such as\n"
        "ssm:/foreman/orchestrator_config (read with the AWS options). Exit code 1 if the config is invalid\n"
        "(every problem listed with its path), 2 if it cannot be read.",
    )
    validate.add_argument("file", metavar="FILE", help="the config: a JSON file, '-', or an ssm:/dynamodb: location")
    validate.set_defaults(handler=cmd_config_validate)
    put = config_commands.add_parser(
        "put",
        parents=[aws],
        help="validate a config, then store it where the stack reads it",
        formatter_class=_Formatter,
        description="Validate FILE, then store it at the stack's config location (output ConfigLocation: an SSM\n"
        "parameter, or sosw's config table). LoadConfig picks it up within ConfigCacheSeconds. Nothing is stored if\n"
        "the config is invalid (exit code 1).",
    )
    put.add_argument("file", metavar="FILE", help="the config: a JSON file or '-'")
    put.set_defaults(handler=cmd_config_put)

    local = commands.add_parser(
        "local", help="the local stack: the demo, or an AWS endpoint on loopback", formatter_class=_Formatter,
        description="Foreman on an embedded AWS stack (moto, in this process): no AWS account, no Docker.",
    )  # fmt: skip
    local_commands = local.add_subparsers(dest="local_command", metavar="SUBCOMMAND", required=True)
    demo = local_commands.add_parser(
        "demo",
        help="the one-command demo: ticks in accelerated time, a table per tick, a picture",
        formatter_class=_Formatter,
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
        formatter_class=_Formatter,
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
    serve.set_defaults(handler=cmd_local_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``foreman`` with ``argv`` (default: the command line); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
