"""The Orchestrator's and the Invocations ASL and the task store agree on the claim and the release, and the graphs
are sound."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from foreman_core import task_store

ROOT = Path(__file__).resolve().parents[2]
ASL = json.loads((ROOT / "statemachine" / "orchestrator.asl.json").read_text())
INVOCATIONS = json.loads((ROOT / "statemachine" / "invocations.asl.json").read_text())


def _states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state of the definition, nested Map processors included, by name."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in definition["States"].items():
        found[name] = state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            found.update(_states(processor))
    return found


STATES = {**_states(ASL), **_states(INVOCATIONS)}


def test_the_claim_is_the_task_stores_claim() -> None:
    claim = STATES["Claim"]
    assert claim["Resource"] == "arn:aws:states:::dynamodb:updateItem"
    assert claim["Parameters"]["UpdateExpression"] == task_store.CLAIM_UPDATE
    assert claim["Parameters"]["ConditionExpression"] == task_store.CLAIM_CONDITION
    # the claim reads nothing back: the invoke sends the payload and created_at the condition held the task to
    assert "ReturnValues" not in claim["Parameters"]
    assert "ResultSelector" not in claim
    values = claim["Parameters"]["ExpressionAttributeValues"]
    assert (values[":payload"], values[":created_at"]) == ({"S.$": "$.payload"}, {"N.$": "$.created_at"})
    assert "States.StringToJson($.payload)" in STATES["Invoke"]["Parameters"]["Payload.$"]
    # every value the condition names is given, and nothing else
    names = {word for word in claim["Parameters"]["ConditionExpression"].split() if word.startswith(":")}
    names |= {word.rstrip(",") for word in claim["Parameters"]["UpdateExpression"].split() if word.startswith(":")}
    assert {name.strip("()") for name in names} == set(values)


def test_the_release_is_the_task_stores_release() -> None:
    release = STATES["Release"]
    assert release["Parameters"]["UpdateExpression"] == task_store.RELEASE_UPDATE
    assert release["Parameters"]["ConditionExpression"] == task_store.RELEASE_CONDITION


def test_a_lost_race_is_caught_with_the_optimized_integrations_spelling() -> None:
    # arn:aws:states:::dynamodb:* raises DynamoDB.…; the aws-sdk integration would raise DynamoDb.… instead
    catches = [catch["ErrorEquals"] for catch in STATES["Claim"]["Catch"]]
    assert ["DynamoDB.ConditionalCheckFailedException"] in catches
    assert STATES["Claim"]["Catch"][0]["Next"] == "Skipped"


def test_invoke_is_asynchronous_and_retries_only_transient_errors_with_jitter() -> None:
    invoke = STATES["Invoke"]
    assert invoke["Parameters"]["InvocationType"] == "Event"
    (retry,) = invoke["Retry"]
    assert "States.ALL" not in retry["ErrorEquals"]
    assert "Lambda.ResourceNotFoundException" not in retry["ErrorEquals"]
    assert retry["JitterStrategy"] == "FULL"
    assert invoke["Catch"][0]["Next"] == "Release"


def test_the_inner_map_concurrency_comes_from_the_labourer() -> None:
    assert STATES["InvokeTasks"]["MaxConcurrencyPath"] == "$.concurrency"
    assert "MaxConcurrency" not in STATES["InvokeTasks"]


def test_each_labourer_iteration_is_caught() -> None:
    assert STATES["InvokeTasks"]["Catch"][0]["ErrorEquals"] == ["States.ALL"]


@pytest.mark.parametrize("name", sorted(STATES))
def test_every_transition_names_a_state_of_its_own_scope(name: str) -> None:
    def scope_of(definition: dict[str, Any]) -> dict[str, Any] | None:
        if name in definition["States"]:
            return definition
        for state in definition["States"].values():
            processor = state.get("ItemProcessor")
            if processor and (found := scope_of(processor)):
                return found
        return None

    scope = scope_of(ASL) or scope_of(INVOCATIONS)
    assert scope is not None
    state = scope["States"][name]
    targets = [state.get("Next")] + [catch["Next"] for catch in state.get("Catch", [])]
    for target in filter(None, targets):
        assert target in scope["States"], f"{name} -> {target}"
    assert state.get("End") or state.get("Next") or state["Type"] in ("Succeed", "Fail", "Choice")


def test_no_account_ids_in_the_definition() -> None:
    text = (ROOT / "statemachine" / "orchestrator.asl.json").read_text()
    assert "arn:aws:lambda:" not in text
    assert "${LoadConfigFunctionArn}" in text


def test_the_lease_given_back_after_a_failure_is_the_lease_modules_return() -> None:
    from foreman_core import lease

    returned = ASL["States"]["ReturnLeaseAfterFailure"]["Parameters"]
    assert returned["UpdateExpression"] == lease.RETURN_UPDATE
    assert returned["ConditionExpression"] == lease.RETURN_CONDITION
    assert returned["Key"] == lease.lease_key()
    # every placeholder the expression names has its value (an empty record: the run claimed nothing)
    assert set(returned["ExpressionAttributeValues"]) == {":run", ":claims", ":unknown", ":now"}


def test_the_tasks_fan_out_over_a_distributed_map_of_express_children_reading_and_writing_s3() -> None:
    fan_out = INVOCATIONS["States"]["InvokeLabourers"]
    assert fan_out["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert fan_out["ItemReader"]["ReaderConfig"] == {"InputType": "JSONL"}  # one group a line (run_groups.write)
    assert fan_out["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert fan_out["ToleratedFailurePercentage"] == 100  # a failed child is reported, it never fails the run
    assert fan_out["Catch"][0]["Next"] == "Summarize"  # nor does the Map: the lease is given back in every case
    assert INVOCATIONS["States"]["Summarize"]["End"] is True


def test_a_child_claims_with_the_invocations_executions_redrive_count_not_its_own() -> None:
    # a child is an execution of its own: its $$.Execution.RedriveCount is 0 even when the run was redriven, and the
    # Invocations execution is a new one when its Orchestrator execution was redriven: both counts are passed down
    # 0 when neither was redriven, else 1 or 2 (how many distinct counts besides 0): an index of the claim's start array
    both = (
        "States.MathAdd(States.ArrayLength(States.ArrayUnique("
        "States.Array(0, $$.Execution.RedriveCount, $.orchestrator_redrive_count))), -1)"
    )
    assert INVOCATIONS["States"]["InvokeLabourers"]["ItemSelector"]["redrive_count.$"] == both
    assert INVOCATIONS["States"]["Summarize"]["Parameters"]["Payload"]["redrive_count.$"] == both
    started = ASL["States"]["StartInvocations"]["Parameters"]["Input"]
    assert started["orchestrator_redrive_count.$"] == "$$.Execution.RedriveCount"
    assert STATES["InvokeTasks"]["ItemSelector"]["redrive_count.$"] == "$.redrive_count"
    assert STATES["ClaimWindow"]["Choices"][0]["Variable"] == "$.redrive_count"
    start = STATES["Claim"]["Parameters"]["ExpressionAttributeValues"][":start"]["N.$"]
    assert start == "States.ArrayGetItem(States.Array($.start, '0', '0'), $.redrive_count)"
    assert "$$.Execution.RedriveCount" not in json.dumps(INVOCATIONS["States"]["InvokeLabourers"]["ItemProcessor"])


def test_the_invocations_execution_is_named_after_the_run_so_a_retried_start_finds_it() -> None:
    start = ASL["States"]["StartInvocations"]
    assert start["Resource"] == "arn:aws:states:::states:startExecution"  # not .sync: an Express parent cannot wait
    assert start["Parameters"]["Name.$"] == "$.run.id"
    assert start["Catch"][0]["Next"] == "RunFailed"  # keeps the lease: the execution may have started after all
