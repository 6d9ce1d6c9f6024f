"""The embedded stack runs a Distributed Map as Step Functions does: a Map Run of child workflow executions."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from foreman.local.distributed_map import PATCHED_INTERNALS, express_child_limit
from foreman.local.patches import resolve_internal
from tests.asl_bench import AslBench, asl_bench


@pytest.mark.parametrize(("module", "attribute"), PATCHED_INTERNALS, ids=[f"{m}:{a}" for m, a in PATCHED_INTERNALS])
def test_each_internal_the_distributed_map_patch_uses_still_exists(module: str, attribute: str) -> None:
    resolve_internal(module, attribute)


@pytest.fixture
def bench() -> Iterator[AslBench]:
    with asl_bench() as bench:
        bench.client("s3").create_bucket(Bucket="results")
        yield bench


def distributed(processor_states: dict[str, Any], *, execution_type: str = "STANDARD", **fields: Any) -> dict:
    """A state machine of one Distributed Map state ``Fan`` over ``$.items`` with ``fields`` added."""
    return {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
                    "StartAt": next(iter(processor_states)),
                    "States": processor_states,
                },
                "End": True,
                **fields,
            }
        },
    }


PASS = {"Echo": {"Type": "Pass", "End": True}}
FAIL_ODD = {
    "Odd?": {
        "Type": "Choice",
        "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Fail"}],
        "Default": "Done",
    },
    "Fail": {"Type": "Fail", "Error": "Odd", "Cause": "an odd item"},
    "Done": {"Type": "Pass", "End": True},
}


def test_express_children_take_batches_and_write_their_results_to_s3(bench: AslBench) -> None:
    machine = bench.machine(
        distributed(
            PASS,
            execution_type="EXPRESS",
            Label="Fan",
            MaxConcurrency=2,
            ItemSelector={"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "run.$": "$.run"},
            ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"run.$": "$.run"}},
            ResultWriter={
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "results", "Prefix": "out"},
            },
        ),
        name="fanout",
    )
    arn = bench.start(machine, {"items": ["a", "b", "c"], "run": "r1"})
    description = bench.wait(arn)
    assert description["status"] == "SUCCEEDED"

    # the Map's output: the Map Run and where its manifest is
    output = json.loads(description["output"])
    run_arn = output["MapRunArn"]
    run_id = run_arn.split(":")[-1]
    assert run_arn.startswith("arn:aws:states:us-east-1:123456789012:mapRun:fanout/Fan:")
    assert output["ResultWriterDetails"] == {"Bucket": "results", "Key": f"out/{run_id}/manifest.json"}

    # the parent's history holds the Map Run, not the children's states
    types = [event["type"] for event in bench.history(arn)]
    assert types == [
        "ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted", "MapRunSucceeded",
        "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded",
    ]  # fmt: skip

    # two children: a batch of two items and one of one, each with the batch's shape
    children = bench.sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert sorted(child["itemCount"] for child in children) == [1, 2]
    inputs = []
    for child in children:
        assert child["executionArn"].startswith("arn:aws:states:us-east-1:123456789012:express:fanout/Fan:")
        assert child["stateMachineArn"] == "arn:aws:states:us-east-1:123456789012:stateMachine:fanout/Fan"
        assert child["mapRunArn"] == run_arn
        opened = bench.sfn.describe_execution(executionArn=child["executionArn"])
        assert (opened["status"], opened["mapRunArn"]) == ("SUCCEEDED", run_arn)
        inputs.append(json.loads(opened["input"]))
    assert sorted(inputs, key=len) == [
        {"Items": [{"value": "c", "index": 2, "run": "r1"}], "BatchInput": {"run": "r1"}},
        {"Items": [{"value": "a", "index": 0, "run": "r1"}, {"value": "b", "index": 1, "run": "r1"}],
         "BatchInput": {"run": "r1"}},
    ]  # fmt: skip
    with pytest.raises(bench.sfn.exceptions.InvalidArn):  # an Express child's history is its log, on AWS too
        bench.sfn.get_execution_history(executionArn=children[0]["executionArn"])

    run = bench.sfn.describe_map_run(mapRunArn=run_arn)
    assert run["status"] == "SUCCEEDED"
    assert run["maxConcurrency"] == 2
    assert (run["itemCounts"]["total"], run["itemCounts"]["succeeded"]) == (3, 3)
    assert (run["executionCounts"]["total"], run["executionCounts"]["succeeded"]) == (2, 2)
    assert [listed["mapRunArn"] for listed in bench.sfn.list_map_runs(executionArn=arn)["mapRuns"]] == [run_arn]

    # the files: the manifest, and every child's result with its metadata (Transformation NONE)
    s3 = bench.client("s3")
    manifest = json.loads(s3.get_object(Bucket="results", Key=f"out/{run_id}/manifest.json")["Body"].read())
    assert manifest["DestinationBucket"] == "results"
    assert manifest["MapRunArn"] == run_arn
    assert (manifest["ResultFiles"]["FAILED"], manifest["ResultFiles"]["PENDING"]) == ([], [])
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    assert succeeded["Key"] == f"out/{run_id}/SUCCEEDED_0.json"
    body = s3.get_object(Bucket="results", Key=succeeded["Key"])["Body"].read()
    assert succeeded["Size"] == len(body)
    entries = json.loads(body)
    assert len(entries) == 2
    for entry in entries:
        assert set(entry) == {
            "ExecutionArn", "Input", "InputDetails", "Name", "Output", "OutputDetails", "RedriveCount",
            "RedriveStatus", "RedriveStatusReason", "StartDate", "StateMachineArn", "Status", "StopDate",
        }  # fmt: skip
        assert entry["Status"] == "SUCCEEDED"
        assert json.loads(entry["Output"]) == json.loads(entry["Input"])


def test_standard_children_read_json_lines_from_s3_and_the_output_keeps_item_order(bench: AslBench) -> None:
    lines = "\n".join(json.dumps({"n": n}) for n in range(6)) + "\n"
    bench.client("s3").put_object(Bucket="results", Key="in/items.jsonl", Body=lines.encode())
    machine = bench.machine(
        distributed(
            {"Double": {"Type": "Pass", "Parameters": {"twice.$": "States.MathAdd($.n, $.n)"}, "End": True}},
            ItemReader={
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL", "MaxItems": 4},
                "Parameters": {"Bucket": "results", "Key.$": "$.key"},
            },
        )
    )
    arn = bench.start(machine, {"key": "in/items.jsonl"})
    description = bench.wait(arn)
    assert description["status"] == "SUCCEEDED"
    assert json.loads(description["output"]) == [{"twice": 0}, {"twice": 2}, {"twice": 4}, {"twice": 6}]

    (run,) = bench.sfn.list_map_runs(executionArn=arn)["mapRuns"]
    children = bench.sfn.list_executions(mapRunArn=run["mapRunArn"])["executions"]
    assert len(children) == 4
    for child in children:
        assert ":execution:" in child["executionArn"]
        events = [event["type"] for event in bench.history(child["executionArn"])]
        assert events == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]


def test_one_failed_child_fails_the_map_run_unless_tolerated(bench: AslBench) -> None:
    intolerant = bench.machine(distributed(FAIL_ODD))
    description = bench.run(intolerant, {"items": [{"n": 0}, {"n": 1}, {"n": 2}]})
    assert (description["status"], description["error"]) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    (run,) = bench.sfn.list_map_runs(executionArn=description["executionArn"])["mapRuns"]
    assert bench.sfn.describe_map_run(mapRunArn=run["mapRunArn"])["status"] == "FAILED"
    failed = [e for e in bench.history(description["executionArn"]) if e["type"] == "MapRunFailed"]
    assert failed[0]["mapRunFailedEventDetails"]["error"] == "States.ExceedToleratedFailureThreshold"

    caught = distributed(FAIL_ODD, Catch=[{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "Hm"}])
    caught["States"]["Fan"].pop("End")
    caught["States"]["Fan"]["Next"] = "Hm"
    caught["States"]["Hm"] = {"Type": "Pass", "End": True}
    assert bench.run(bench.machine(caught), {"items": [{"n": 1}]})["status"] == "SUCCEEDED"

    tolerant = bench.machine(distributed(FAIL_ODD, ToleratedFailureCount=1))
    assert bench.run(tolerant, {"items": [{"n": 0}, {"n": 1}, {"n": 2}]})["status"] == "SUCCEEDED"
    by_percentage = bench.machine(distributed(FAIL_ODD, ToleratedFailurePercentage=20))
    result = bench.run(by_percentage, {"items": [{"n": 1}, {"n": 0}, {"n": 2}]})  # 33 % failed > 20 %
    assert result["error"] == "States.ExceedToleratedFailureThreshold"


def test_failed_children_are_written_to_the_failed_file_with_their_error(bench: AslBench) -> None:
    writer = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "results", "Prefix": "f"}}
    machine = bench.machine(distributed(FAIL_ODD, ToleratedFailureCount=5, ResultWriter=writer))
    description = bench.run(machine, {"items": [{"n": 0}, {"n": 1}]})
    assert description["status"] == "SUCCEEDED"
    manifest_key = json.loads(description["output"])["ResultWriterDetails"]["Key"]
    s3 = bench.client("s3")
    manifest = json.loads(s3.get_object(Bucket="results", Key=manifest_key)["Body"].read())
    (failed_file,) = manifest["ResultFiles"]["FAILED"]
    assert failed_file["Key"].endswith("/FAILED_0.json")
    (entry,) = json.loads(s3.get_object(Bucket="results", Key=failed_file["Key"])["Body"].read())
    assert (entry["Status"], entry["Error"], entry["Cause"]) == ("FAILED", "Odd", "an odd item")
    assert "Output" not in entry


def test_a_child_state_over_256_kib_fails_with_data_limit_exceeded(bench: AslBench) -> None:
    twice = {"Twice": {"Type": "Pass", "Parameters": {"a.$": "$", "b.$": "$"}, "End": True}}
    description = bench.run(bench.machine(distributed(twice, ToleratedFailureCount=1)), {"items": ["x" * 150_000]})
    assert description["status"] == "SUCCEEDED"  # tolerated: the child's failure is in the child
    (run,) = bench.sfn.list_map_runs(executionArn=description["executionArn"])["mapRuns"]
    (child,) = bench.sfn.list_executions(mapRunArn=run["mapRunArn"])["executions"]
    opened = bench.sfn.describe_execution(executionArn=child["executionArn"])
    assert (opened["status"], opened["error"]) == ("FAILED", "States.DataLimitExceeded")


def test_a_standard_child_has_the_history_limit_and_an_express_child_the_duration_limit() -> None:
    many_passes: dict[str, Any] = {f"P{n}": {"Type": "Pass", "Next": f"P{n + 1}"} for n in range(30)}
    many_passes["P30"] = {"Type": "Pass", "End": True}
    with asl_bench(history_events=40) as bench:
        standard = bench.run(bench.machine(distributed(many_passes, ToleratedFailureCount=1)), {"items": [1]})
        express = bench.run(
            bench.machine(distributed(many_passes, execution_type="EXPRESS", ToleratedFailureCount=1)), {"items": [1]}
        )
        outcomes = {}
        for name, description in (("standard", standard), ("express", express)):
            (run,) = bench.sfn.list_map_runs(executionArn=description["executionArn"])["mapRuns"]
            (child,) = bench.sfn.list_executions(mapRunArn=run["mapRunArn"])["executions"]
            outcomes[name] = bench.sfn.describe_execution(executionArn=child["executionArn"])
    assert (outcomes["standard"]["status"], outcomes["standard"]["error"]) == ("FAILED", "States.Runtime")
    assert outcomes["express"]["status"] == "SUCCEEDED"

    with asl_bench() as bench, express_child_limit(1):
        release = threading.Event()
        bench.function("slow", lambda event, context: release.wait(30))
        slow = {"Slow": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                         "Parameters": {"FunctionName": "slow"}, "End": True}}  # fmt: skip
        try:
            description = bench.run(bench.machine(distributed(slow, execution_type="EXPRESS")), {"items": [1]})
        finally:
            release.set()
        (run,) = bench.sfn.list_map_runs(executionArn=description["executionArn"])["mapRuns"]
        counts = bench.sfn.describe_map_run(mapRunArn=run["mapRunArn"])["executionCounts"]
    assert description["error"] == "States.ExceedToleratedFailureThreshold"
    assert counts["timedOut"] == 1


def test_stopping_a_child_fails_its_items_and_stopping_the_parent_stops_every_child(bench: AslBench) -> None:
    entered, release = threading.Semaphore(0), threading.Event()

    def held(event: Any, context: Any) -> Any:
        entered.release()
        release.wait(30)
        return event

    bench.function("held", held)
    task = {"Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Parameters": {"FunctionName": "held", "Payload.$": "$"}, "End": True}}  # fmt: skip
    machine = bench.machine(distributed(task, MaxConcurrency=2))
    arn = bench.start(machine, {"items": [1, 2, 3]})
    assert entered.acquire(timeout=10)
    assert entered.acquire(timeout=10)
    (run,) = bench.sfn.list_map_runs(executionArn=arn)["mapRuns"]
    first = bench.sfn.list_executions(mapRunArn=run["mapRunArn"])["executions"][0]["executionArn"]
    bench.sfn.stop_execution(executionArn=first, error="Chaos", cause="a child stopped")
    description = bench.wait(arn)
    release.set()
    assert (description["status"], description["error"]) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    stopped = bench.sfn.describe_execution(executionArn=first)
    assert (stopped["status"], stopped["error"]) == ("ABORTED", "Chaos")

    release.clear()
    arn = bench.start(machine, {"items": [1, 2, 3]})
    assert entered.acquire(timeout=10)
    assert entered.acquire(timeout=10)
    bench.sfn.stop_execution(executionArn=arn)
    (run,) = bench.sfn.list_map_runs(executionArn=arn)["mapRuns"]
    release.set()
    assert bench.wait(arn)["status"] == "ABORTED"
    children = bench.sfn.list_executions(mapRunArn=run["mapRunArn"])["executions"]
    assert {child["status"] for child in children} == {"ABORTED"}
    assert bench.sfn.describe_map_run(mapRunArn=run["mapRunArn"])["status"] == "ABORTED"


@pytest.mark.parametrize(
    "batcher",
    [{"MaxInputBytesPerBatch": 262145}, {"MaxItemsPerBatch": 0}, {"BatchInput": {}}, {"MaxItems": 3}],
    ids=["bytes-over-256k", "zero-items", "no-limit", "unknown-field"],
)
def test_an_item_batcher_aws_refuses_is_refused_at_creation(bench: AslBench, batcher: dict[str, Any]) -> None:
    with pytest.raises(ClientError, match="ItemBatcher"):  # moto answers InvalidDefinition without its code
        bench.machine(distributed(PASS, ItemBatcher=batcher))


def test_a_fault_stops_the_run_deterministically_as_a_given_child_enters_a_state(bench: AslBench) -> None:
    from tests.faults import stop_at_state

    twice = {"First": {"Type": "Pass", "Next": "Second"}, "Second": {"Type": "Pass", "End": True}}
    machine = bench.machine(distributed(twice, MaxConcurrency=1, ToleratedFailureCount=10))
    with stop_at_state("Second", nth=2, execution=lambda arn: "/" in arn.split(":")[6], error="Chaos") as fault:
        description = bench.run(machine, {"items": [1, 2, 3]})
    assert fault.raised == 1
    assert description["status"] == "SUCCEEDED"  # one stopped child is tolerated
    (run,) = bench.sfn.list_map_runs(executionArn=description["executionArn"])["mapRuns"]
    counts = bench.sfn.describe_map_run(mapRunArn=run["mapRunArn"])["executionCounts"]
    assert (counts["succeeded"], counts["aborted"]) == (2, 1)

    def is_parent(arn: str) -> bool:
        return "/" not in arn.split(":")[6]

    with stop_at_state("Fan", execution=is_parent) as fault:  # the run stopped as it enters the Map
        stopped = bench.run(bench.machine(distributed(twice)), {"items": [1, 2, 3]})
    assert (fault.raised, stopped["status"]) == (1, "ABORTED")


def test_a_distributed_map_in_an_express_state_machine_is_refused_as_aws_refuses_it(bench: AslBench) -> None:
    # Step Functions runs a Distributed Map in Standard workflows only (an Express Orchestrator hands its run to the
    # Standard Invocations state machine for that reason); stock moto creates it
    nested = {
        "StartAt": "Outer",
        "States": {"Outer": {"Type": "Parallel", "End": True, "Branches": [distributed(PASS)]}},
    }
    for definition in (distributed(PASS), nested):
        with pytest.raises(ClientError, match="not supported in Express workflows"):
            bench.machine(definition, kind="EXPRESS")
    assert bench.machine(distributed(PASS), kind="STANDARD")  # a Standard parent is fine
    assert bench.machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, kind="EXPRESS")


def test_stock_moto_accepts_a_distributed_map_in_an_express_state_machine() -> None:
    # the canary: the day moto refuses it itself, the patch's check can go
    import boto3
    from moto import mock_aws

    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        role = boto3.client("iam", region_name="us-east-1").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        arn = sfn.create_state_machine(
            name="express-fan", definition=json.dumps(distributed(PASS)), roleArn=role["Role"]["Arn"], type="EXPRESS"
        )["stateMachineArn"]
    assert arn.endswith(":express-fan")
