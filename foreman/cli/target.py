"""Where the stack is: the AWS options resolved into a ``Target`` (clients, table names, the Orchestrator, the
config location), and AWS errors said as ``CliError``s.

On AWS the commands read the names from the CloudFormation stack's outputs (``--stack-name``); with
``--endpoint-url`` (``foreman local serve``) they default to the local deployment's (``LOCAL_OUTPUTS``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from foreman_core.config import OrchestratorConfig, Tables

from foreman.cli.errors import EXIT_USAGE, CliError

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
    "ScavengerArn": f"arn:aws:states:{LOCAL_REGION}:{LOCAL_ACCOUNT}:stateMachine:foreman-Scavenger",
}
"""What ``foreman local serve`` deploys (the template's defaults): used with ``--endpoint-url`` when the endpoint has
no CloudFormation stack to read them from."""


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
        raise CliError(unreachable(error, endpoint)) from None
    target.outputs = {**outputs, **explicit}
    return target


def missing_tables(target: Target, tables: Tables) -> list[str]:
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


def unreachable(error: Exception, endpoint: str | None) -> str:
    if endpoint:
        return f"cannot reach {endpoint}: {error} (is `foreman local serve` running there?)"
    return f"cannot reach AWS: {error}"


# -----------------------------------------------------------------------------------------------------------------


def unknown_labourer(labourer_id: str, config: OrchestratorConfig) -> CliError:
    """The usage error for a labourer the config does not name: the closest one it names, and all of them."""
    import difflib

    ids = [labourer.id for labourer in config.labourers]
    close = difflib.get_close_matches(labourer_id, ids, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    known = ", ".join(ids) or "none"
    return CliError(f"unknown labourer {labourer_id!r}{hint}; the config's labourers are: {known}", EXIT_USAGE)


# -----------------------------------------------------------------------------------------------------------------


def call_aws(call: Callable[[], Any], target: Target, *, tables: Tables | None = None) -> Any:
    """``call()``, with AWS errors as ``CliError``s. A ``ResourceNotFoundException`` names the missing DynamoDB
    table, of ``tables`` (default: the target's), with one message whatever the command."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code", "error")
        missing = missing_tables(target, tables or target.tables()) if code == "ResourceNotFoundException" else []
        if missing:
            names = ", ".join(repr(name) for name in missing)
            raise CliError(
                f"AWS error: {code}: no DynamoDB table {names} at {target.endpoint_url or 'AWS'} (does the config or "
                "--tasks-table/--closed-table/--retry-table name the deployment's tables?)"
            ) from None
        raise CliError(f"AWS error: {code}: {details.get('Message', error)}") from None
    except BotoCoreError as error:
        raise CliError(unreachable(error, target.endpoint_url)) from None


# -----------------------------------------------------------------------------------------------------------------
