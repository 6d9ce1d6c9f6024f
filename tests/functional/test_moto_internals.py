"""Canary: the moto 5.2.5 internals the embedded stack patches must still exist where it patches them.

If moto is upgraded and one of these moved, this fails first and names it, instead of the state machine tests
failing in confusing ways.
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib.metadata import version
from typing import Any

import pytest

from foreman.local.kms_grants import PATCHED as KMS_GRANT_INTERNALS
from foreman.local.patches import internals_by_patch, resolve_internal
from foreman.local.patches.aws_timestamps import aws_entered_time, parse_timestamp


def test_moto_is_the_pinned_release() -> None:
    assert version("moto") == "5.2.5"


@pytest.mark.parametrize(
    ("patch", "module", "attribute"), internals_by_patch(), ids=[f"{p}-{m}:{a}" for p, m, a in internals_by_patch()]
)
def test_each_patched_internal_still_exists(patch: str, module: str, attribute: str) -> None:
    # ``patch``: the module of foreman/local/patches/ (or of foreman/local/) that relies on this internal
    assert resolve_internal(module, attribute) is not None


def test_lambda_simple_backend_invoke_keeps_its_signature() -> None:
    import inspect

    from moto.awslambda_simple.models import LambdaSimpleBackend

    parameters = list(inspect.signature(LambdaSimpleBackend.invoke).parameters)
    assert parameters == ["self", "function_name", "qualifier", "body", "headers", "response_headers"]


def test_retrier_sleeps_through_its_module_time() -> None:
    import inspect

    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    assert "time.sleep(" in inspect.getsource(retrier_decl)


def test_resolve_internal_fails_loudly_for_a_moved_name() -> None:
    with pytest.raises(AttributeError):
        resolve_internal("moto.awslambda_simple.models", "LambdaSimpleBackend.no_such_method")


def test_a_functions_event_invoke_config_is_read_where_the_local_runtime_reads_it() -> None:
    import io
    import zipfile

    import boto3
    from moto import mock_aws
    from moto.awslambda.models import lambda_backends

    from foreman.local.lambda_runtime import event_invoke_config

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("app.py", "")
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        client = boto3.client("lambda", region_name="us-east-1")
        client.create_function(
            FunctionName="f", Runtime="python3.12", Role=role, Handler="app.h", Code={"ZipFile": archive.getvalue()}
        )
        destination = "arn:aws:lambda:us-east-1:123456789012:function:d"
        client.put_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=2)
        client.put_function_event_invoke_config(
            FunctionName="f",
            MaximumRetryAttempts=0,
            DestinationConfig={"OnSuccess": {"Destination": destination}},
        )
        fn = lambda_backends["123456789012"]["us-east-1"].get_function("f")

        assert event_invoke_config(fn) == {
            "MaximumRetryAttempts": 0,
            "DestinationConfig": {"OnSuccess": {"Destination": destination}},
        }


def _eleven_puts_of_390_kb() -> list[dict[str, Any]]:
    return [
        {"Put": {"TableName": "t", "Item": {"id": {"S": f"i{n}"}, "blob": {"S": "x" * 390_000}}}} for n in range(11)
    ]


def test_moto_accepts_a_transaction_over_4_mb_and_the_embedded_stack_refuses_it_as_dynamodb_does() -> None:
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from foreman.local.patches.transaction_size_limit import TRANSACTION_TOO_LARGE, transaction_size_limit

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.transact_write_items(TransactItems=_eleven_puts_of_390_kb())  # stock moto: 4.3 MB accepted

        with transaction_size_limit(), pytest.raises(ClientError) as refused:
            client.transact_write_items(TransactItems=_eleven_puts_of_390_kb())
        assert refused.value.response["Error"]["Code"] == "ValidationException"
        assert refused.value.response["Error"]["Message"] == TRANSACTION_TOO_LARGE

        deletes = [{"Delete": {"TableName": "t", "Key": {"id": {"S": f"i{n}"}}}} for n in range(11)]
        with transaction_size_limit(), pytest.raises(ClientError):  # a delete counts as the item it deletes
            client.transact_write_items(TransactItems=deletes)
        with transaction_size_limit():
            client.transact_write_items(TransactItems=deletes[:10])  # 3.9 MB: within the limit


def test_moto_stores_an_ssm_value_of_any_length_and_the_embedded_stack_refuses_it_as_parameter_store_does() -> None:
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from foreman.local.patches.ssm_parameter_size_limit import (
        SSM_ADVANCED_TOO_LONG,
        SSM_STANDARD_TOO_LONG,
        ssm_parameter_size_limit,
    )

    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name="/p", Value="x" * 9000, Type="String")  # stock moto: 9,000 characters, Standard
        kept = ssm.put_parameter(Name="/q", Value="x" * 5000, Type="String", Tier="Intelligent-Tiering")
        assert kept["Tier"] == "Intelligent-Tiering"  # stock moto keeps the word; AWS answers Standard or Advanced

        with ssm_parameter_size_limit():
            for tier, length, message in (
                ("Standard", 4097, SSM_STANDARD_TOO_LONG),
                (None, 4097, SSM_STANDARD_TOO_LONG),  # the account's default tier: Standard
                ("Advanced", 8193, SSM_ADVANCED_TOO_LONG),
                ("Intelligent-Tiering", 8193, SSM_ADVANCED_TOO_LONG),
            ):
                with pytest.raises(ClientError) as refused:
                    ssm.put_parameter(Name="/r", Value="x" * length, Type="String", **({"Tier": tier} if tier else {}))
                assert refused.value.response["Error"]["Code"] == "ValidationException"
                assert refused.value.response["Error"]["Message"] == message
            small = ssm.put_parameter(Name="/r", Value="x" * 4096, Type="String", Tier="Intelligent-Tiering")
            large = ssm.put_parameter(
                Name="/r", Value="x" * 8192, Type="String", Tier="Intelligent-Tiering", Overwrite=True
            )
            again = ssm.put_parameter(Name="/r", Value="x", Type="String", Tier="Intelligent-Tiering", Overwrite=True)
        assert (small["Tier"], large["Tier"], again["Tier"]) == ("Standard", "Advanced", "Advanced")
        assert len(ssm.get_parameter(Name="/r:2")["Parameter"]["Value"]) == 8192


MAP_OF_PASSES = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 5,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "One",
                "States": {"One": {"Type": "Pass", "Next": "Two"}, "Two": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    },
}


def _run_map_of_passes(items: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    import json
    import time

    import boto3

    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.create_state_machine(
        name=f"passes{time.monotonic_ns()}",
        definition=json.dumps(MAP_OF_PASSES),
        roleArn="arn:aws:iam::123456789012:role/r",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": list(range(items))}))
    began = time.monotonic()
    while sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING":
        assert time.monotonic() - began < 60
        time.sleep(0.05)
    time.sleep(0.2)  # stragglers of cut iterations, if any, would show up in the history now
    description = sfn.describe_execution(executionArn=execution["executionArn"])
    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    return description, history


def test_moto_lets_a_history_pass_the_limit_and_the_embedded_stack_fails_it_as_step_functions_does() -> None:
    from moto import mock_aws

    from foreman.local.patches.history_limit import (
        HISTORY_EVENT_LIMIT,
        HISTORY_LIMIT_ERROR,
        history_limit,
        history_limit_cause,
    )
    from foreman.local.patches.named_executions import named_executions
    from foreman.local.stack import MOTO_CONFIG, quiet_moto

    assert HISTORY_EVENT_LIMIT == 25_000
    quiet_moto()
    with mock_aws(config=MOTO_CONFIG), named_executions():  # type: ignore[call-overload]
        stock, stock_history = _run_map_of_passes(120)
        assert stock["status"] == "SUCCEEDED"
        assert len(stock_history) > 300

        with history_limit(300):  # a small limit: the same rule as at 25,000, in a fraction of the time
            description, history = _run_map_of_passes(120)

    # As on AWS: the event that would have been the 300th ends the execution instead, as its ExecutionFailed event
    assert (description["status"], description["error"]) == ("FAILED", HISTORY_LIMIT_ERROR)
    assert (
        description["cause"]
        == history_limit_cause(300)
        == ("The execution reached the maximum number of history events (300).")
    )
    assert len(history) == 300
    assert [event["id"] for event in history] == list(range(1, 301))
    assert history[-1]["type"] == "ExecutionFailed"
    assert history[-1]["executionFailedEventDetails"] == {
        "error": HISTORY_LIMIT_ERROR,
        "cause": history_limit_cause(300),
    }


def _run_definition(result_selector: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """Run a one-Task state machine (a DynamoDB getItem with ``result_selector`` and a ``States.ALL`` catcher) on
    the embedded stack's emulation; ``describe_execution``'s answer."""
    import json
    import time

    import boto3
    from moto import mock_aws

    from foreman.local.lambda_runtime import LambdaRuntime
    from foreman.local.stack import MOTO_CONFIG, emulation

    definition = {
        "StartAt": "Read",
        "States": {
            "Read": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": "t", "Key": {"k": {"S": "a"}}},
                "ResultSelector": result_selector,
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    with mock_aws(config=MOTO_CONFIG), emulation(LambdaRuntime(), fast=True):  # type: ignore[call-overload]
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="t", Item={"k": {"S": "a"}, **item})
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="strict", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            time.sleep(0.02)
        return dict(described)


@pytest.mark.parametrize(
    ("selector", "item"),
    [
        ({"value.$": "$.Item.n.N"}, {"n": {"S": "a string, not a number"}}),  # a path that matches nothing
        ({"value.$": "States.StringToJson($.Item.p.S)"}, {"p": {"S": "not json"}}),  # a failed intrinsic
    ],
    ids=["missing-path", "failed-intrinsic"],
)
def test_a_runtime_error_fails_the_execution_whatever_the_catchers(
    selector: dict[str, Any], item: dict[str, Any]
) -> None:
    # As on AWS: States.Runtime is neither retried nor caught, not even by States.ALL (moto alone catches it)
    described = _run_definition(selector, item)

    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"


def test_the_same_state_succeeds_when_the_item_is_well_formed() -> None:
    described = _run_definition({"value.$": "States.StringToJson($.Item.p.S)"}, {"p": {"S": '{"a": 1}'}})

    assert described["status"] == "SUCCEEDED"
    assert described["output"] == '{"value": {"a": 1}}'


def test_moto_reads_express_executions_as_aws_does_not_and_the_embedded_stack_refuses_as_aws_does() -> None:
    import json
    import time

    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from foreman.local.lambda_runtime import LambdaRuntime
    from foreman.local.patches.express_workflows import EXPRESS_DESCRIBE_ERROR, TYPE_NOT_SUPPORTED
    from foreman.local.stack import MOTO_CONFIG, emulation, quiet_moto

    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": 1}, "End": True}}})
    role = "arn:aws:iam::123456789012:role/r"

    def code(call: Any) -> str:
        with pytest.raises(ClientError) as refused:
            call()
        return f"{refused.value.response['Error']['Code']}: {refused.value.response['Error']['Message']}"

    quiet_moto()
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[call-overload]
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        express = sfn.create_state_machine(name="e", definition=definition, roleArn=role, type="EXPRESS")
        stock = sfn.start_execution(stateMachineArn=express["stateMachineArn"], name="one")["executionArn"]
        time.sleep(0.2)
        # stock moto: describes an Express execution, and has no StartSyncExecution at all
        assert sfn.describe_execution(executionArn=stock)["status"] == "SUCCEEDED"
        assert code(lambda: sfn.start_sync_execution(stateMachineArn=express["stateMachineArn"])).startswith("404")

        with emulation(LambdaRuntime(), fast=True):
            standard = sfn.create_state_machine(name="s", definition=definition, roleArn=role)["stateMachineArn"]
            answer = sfn.start_sync_execution(stateMachineArn=express["stateMachineArn"], input="{}")
            refusals = {
                "describe": code(lambda: sfn.describe_execution(executionArn=answer["executionArn"])),
                "history": code(lambda: sfn.get_execution_history(executionArn=answer["executionArn"])),
                "list": code(lambda: sfn.list_executions(stateMachineArn=express["stateMachineArn"])),
                "sync on standard": code(lambda: sfn.start_sync_execution(stateMachineArn=standard)),
            }
            assert sfn.list_executions(stateMachineArn=standard)["executions"] == []  # Standard: as before

    # As on AWS: StartSyncExecution answers with the end of the run and what it was billed
    assert (answer["status"], json.loads(answer["output"])) == ("SUCCEEDED", {"ok": 1})
    assert answer["billingDetails"]["billedMemoryUsedInMB"] == 64
    assert answer["billingDetails"]["billedDurationInMilliseconds"] % 100 == 0
    assert refusals == {
        "describe": f"InvalidArn: {EXPRESS_DESCRIBE_ERROR}",
        "history": f"InvalidArn: {EXPRESS_DESCRIBE_ERROR}",
        "list": f"StateMachineTypeNotSupported: {TYPE_NOT_SUPPORTED}",
        "sync on standard": f"StateMachineTypeNotSupported: {TYPE_NOT_SUPPORTED}",
    }


def _index_table(client: Any) -> None:
    client.create_table(
        TableName="q",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_n",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(10):  # ten items of 10,000 + 12 bytes (names 'id' 'pk' 'n' 'blob', values 'iN' 'p' N blob)
        client.put_item(
            TableName="q",
            Item={"id": {"S": f"i{n}"}, "pk": {"S": "p"}, "n": {"N": str(n)}, "blob": {"S": "x" * 10_000}},
        )


ITEM_BYTES = len("id") + 2 + len("pk") + 1 + len("n") + 2 + len("blob") + 10_000
"""One item of ``_index_table`` as DynamoDB sizes it (a one-digit number counted as 2 bytes)."""


def test_moto_answers_a_constant_capacity_and_the_embedded_stack_charges_the_items_read_as_dynamodb_does() -> None:
    import math

    import boto3
    from moto import mock_aws

    from foreman.local.patches.consumed_read_capacity import consumed_read_capacity

    query = {
        "TableName": "q",
        "IndexName": "by_n",
        "KeyConditionExpression": "pk = :p AND n < :n",
        "ExpressionAttributeValues": {":p": {"S": "p"}, ":n": {"N": "10"}},
        "ReturnConsumedCapacity": "TOTAL",
    }
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _index_table(client)
        assert client.query(**query)["ConsumedCapacity"]["CapacityUnits"] == 1.0  # stock moto: 1.0, whatever it read

        with consumed_read_capacity():
            whole = client.query(**query)["ConsumedCapacity"]
            projected = client.query(**query, ProjectionExpression="id")["ConsumedCapacity"]
            counted = client.query(**query, Select="COUNT")["ConsumedCapacity"]
            values = {**query["ExpressionAttributeValues"], ":none": {"S": "none"}}
            filtered = client.query(**{**query, "ExpressionAttributeValues": values}, FilterExpression="id = :none")
            limited = client.query(**query, Limit=3)["ConsumedCapacity"]
            empty = client.query(**{**query, "ExpressionAttributeValues": {":p": {"S": "nobody"}, ":n": {"N": "1"}}})
            by_index = client.query(**{**query, "ReturnConsumedCapacity": "INDEXES"})["ConsumedCapacity"]
            strong = client.get_item(
                TableName="q",
                Key={"id": {"S": "i1"}},
                ConsistentRead=True,
                ProjectionExpression="id",
                ReturnConsumedCapacity="TOTAL",
            )
            missing = client.get_item(TableName="q", Key={"id": {"S": "none"}}, ReturnConsumedCapacity="TOTAL")
            batch = client.batch_get_item(
                RequestItems={"q": {"Keys": [{"id": {"S": "i1"}}, {"id": {"S": "i2"}}], "ConsistentRead": True}},
                ReturnConsumedCapacity="TOTAL",
            )
            scan = client.scan(TableName="q", ReturnConsumedCapacity="TOTAL", ConsistentRead=True)["ConsumedCapacity"]

    # A Query sums the sizes of the items it read, rounds up to 4 KB; a global secondary index reads at half price
    ten = math.ceil(10 * ITEM_BYTES / 4096) / 2
    assert whole["CapacityUnits"] == ten == 12.5
    assert projected["CapacityUnits"] == ten  # a projection reads the same items
    assert counted["CapacityUnits"] == ten  # so does COUNT
    assert (filtered["Count"], filtered["ScannedCount"], filtered["ConsumedCapacity"]["CapacityUnits"]) == (0, 10, ten)
    assert limited["CapacityUnits"] == math.ceil(3 * ITEM_BYTES / 4096) / 2
    assert empty["ConsumedCapacity"]["CapacityUnits"] == 0.5  # reading nothing costs one 4 KB block
    assert by_index["GlobalSecondaryIndexes"] == {"by_n": {"CapacityUnits": ten, "ReadCapacityUnits": ten}}
    assert by_index["Table"]["CapacityUnits"] == 0.0
    # GetItem: one item rounded up (a projection changes nothing), strongly consistent at full price
    assert strong["Item"] == {"id": {"S": "i1"}}
    assert strong["ConsumedCapacity"]["CapacityUnits"] == math.ceil(ITEM_BYTES / 4096) == 3
    assert missing["ConsumedCapacity"]["CapacityUnits"] == 0.5
    assert batch["ConsumedCapacity"] == [{"TableName": "q", "CapacityUnits": 6.0, "ReadCapacityUnits": 6.0}]
    assert scan["CapacityUnits"] == math.ceil(10 * ITEM_BYTES / 4096)  # a consistent Scan of the table


def test_moto_writes_entered_time_and_reads_timestamps_unlike_aws_and_the_embedded_stack_as_aws_does() -> None:
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import (
        IsTimestamp,
    )

    moto_entered = "2026-12-07T20:14:13.192345+00:00"  # datetime.now(tz=utc).isoformat(), what moto writes
    assert IsTimestamp.string_to_timestamp(moto_entered) is None  # so moto never compares it: the patch is needed
    assert IsTimestamp.string_to_timestamp("2026-12-07T20:14:13.192Z") is None  # nor AWS's own form
    assert aws_entered_time(moto_entered) == "2026-12-07T20:14:13.192Z"
    assert parse_timestamp("2026-12-07T20:14:13.192Z") == datetime(2026, 12, 7, 20, 14, 13, 192000)
    assert parse_timestamp("2026-12-07T20:14:13Z") == datetime(2026, 12, 7, 20, 14, 13)
    assert parse_timestamp(moto_entered) is None  # an offset is not AWS's form for a timestamp rule


def test_moto_query_takes_the_index_name_where_the_index_lag_fault_reads_it() -> None:
    import inspect

    from moto.dynamodb.models.table import Table

    from tests.faults import MOTO_QUERY_INDEX_POSITION

    parameters = list(inspect.signature(inspect.unwrap(Table.query)).parameters)
    assert parameters.index("index_name") - 1 == MOTO_QUERY_INDEX_POSITION


@pytest.mark.parametrize(("module", "attribute"), KMS_GRANT_INTERNALS)
def test_each_kms_grant_internal_still_exists(module: str, attribute: str) -> None:
    assert resolve_internal(module, attribute) is not None


def test_stock_moto_decrypts_a_customer_key_config_for_anybody_and_keeps_the_key_the_patch_reads() -> None:
    # What foreman.local.kms_grants corrects: AWS refuses a role without kms:Decrypt on the key; moto does not
    import boto3
    from moto import mock_aws
    from moto.s3.models import s3_backends
    from moto.ssm.models import ssm_backends

    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name="/p", Value="{}", Type="SecureString", KeyId=key)
        assert ssm.get_parameter(Name="/p", WithDecryption=True)["Parameter"]["Value"] == "{}"  # stock: no refusal
        parameter = ssm_backends["123456789012"]["us-east-1"].get_parameter("/p")
        assert (parameter.parameter_type, parameter.keyid) == ("SecureString", key)
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="canary-bucket")
        s3.put_object(Bucket="canary-bucket", Key="k", Body=b"{}", ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
        assert s3.get_object(Bucket="canary-bucket", Key="k")["Body"].read() == b"{}"
        stored = s3_backends["123456789012"]["aws"].get_object("canary-bucket", "k")
        assert (stored.encryption, stored.kms_key_id) == ("aws:kms", key)


def _start_execution_task(patched: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A state machine whose one Task starts another (``states:startExecution``); its description and the started
    executions, with the task as moto runs it (``patched``: as the embedded stack runs it)."""
    import json
    import time
    from contextlib import nullcontext

    import boto3
    from moto import mock_aws

    from foreman.local.patches.start_execution_task import start_execution_task
    from foreman.local.stack import MOTO_CONFIG, quiet_moto

    quiet_moto()
    with mock_aws(config=MOTO_CONFIG), start_execution_task() if patched else nullcontext():  # type: ignore[call-overload]
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        role = boto3.client("iam", region_name="us-east-1").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        pass_only = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        child = sfn.create_state_machine(name="child", definition=json.dumps(pass_only), roleArn=role["Role"]["Arn"])
        parameters = {"StateMachineArn": child["stateMachineArn"], "Name": "run-1", "Input": {"a": 1}}
        start = {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution",
            "End": True,
            "Parameters": parameters,
        }
        parent = sfn.create_state_machine(
            name="parent",
            definition=json.dumps({"StartAt": "Start", "States": {"Start": start}}),
            roleArn=role["Role"]["Arn"],
        )
        arn = sfn.start_execution(stateMachineArn=parent["stateMachineArn"])["executionArn"]
        deadline = time.monotonic() + 30
        while (description := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        started = sfn.list_executions(stateMachineArn=child["stateMachineArn"])["executions"]
        return dict(description), [dict(execution) for execution in started]


def test_moto_fails_a_start_execution_task_and_the_embedded_stack_runs_it_as_step_functions_does() -> None:
    stock, stock_started = _start_execution_task(patched=False)
    assert (stock["status"], stock.get("error")) == ("FAILED", "States.Runtime")  # boto3 has no 'StateMachineArn'
    assert "StateMachineArn" in stock["cause"]
    assert stock_started == []

    description, started = _start_execution_task(patched=True)
    assert description["status"] == "SUCCEEDED"
    output = json.loads(description["output"])
    assert set(output) == {"ExecutionArn", "StartDate"}  # AWS's names
    assert output["ExecutionArn"].endswith(":child:run-1")
    assert [execution["name"] for execution in started] == ["run-1"]
    assert parse_timestamp(output["StartDate"]) is not None
