"""The Scavenger's ASL: LoadConfig, FindLabourersWithWork, then one caught iteration per batch of labourers with
work, the Orchestrator's Lambda retry pattern."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "statemachine" / "scavenger.asl.json").read_text()
ASL = json.loads(TEXT)
ORCHESTRATOR = json.loads((ROOT / "statemachine" / "orchestrator.asl.json").read_text())
MAP = ASL["States"]["ScavengeLabourers"]
INNER = MAP["ItemProcessor"]["States"]


def test_the_run_finds_the_labourers_with_work_then_maps_over_their_batches_then_sums_up() -> None:
    assert ASL["StartAt"] == "LoadConfig"
    assert ASL["States"]["LoadConfig"]["Next"] == "FindLabourersWithWork"
    find = ASL["States"]["FindLabourersWithWork"]
    assert find["Parameters"]["FunctionName"] == "${FindLabourersWithWorkFunctionArn}"
    assert find["Retry"] == ORCHESTRATOR["States"]["LoadConfig"]["Retry"]
    assert find["Next"] == "ScavengeLabourers"
    assert MAP["Type"] == "Map"
    assert MAP["ItemsPath"] == "$.batches"
    assert MAP["Next"] == "Summarize"
    assert ASL["States"]["Summarize"]["End"] is True


def test_load_config_is_the_orchestrators_own_step() -> None:
    ours, theirs = (dict(definition["States"]["LoadConfig"]) for definition in (ASL, ORCHESTRATOR))
    for state in (ours, theirs):
        state.pop("Comment")
        state.pop("Next")
    assert ours == theirs


def test_each_batch_is_isolated_and_a_failed_one_keeps_no_cause() -> None:
    assert 1 <= MAP["MaxConcurrency"] <= 40
    step = INNER["ScavengeBatch"]
    (catch,) = step["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    assert catch["ResultPath"] == "$.error"
    failed = INNER[catch["Next"]]
    assert failed["Type"] == "Pass"
    # a failed batch is reported by its number, its labourers' count and the error's name: never the cause (up to
    # 32 KB each), so forty failed batches stay small (issue 22 item 16)
    assert "Cause" not in json.dumps(failed["Parameters"])
    assert failed["Parameters"]["labourers"] == []
    assert MAP["ItemSelector"] == {
        "labourers.$": "$$.Map.Item.Value",
        "batch.$": "$$.Map.Item.Index",
        "run.$": "$.run",
        "config.$": "$.config",
    }


def test_lambda_steps_retry_like_the_orchestrators() -> None:
    assert INNER["ScavengeBatch"]["Retry"] == ORCHESTRATOR["States"]["LoadConfig"]["Retry"]
    assert INNER["ScavengeBatch"]["Parameters"]["FunctionName"] == "${ScavengeLabourersFunctionArn}"


@pytest.mark.parametrize("scope", [ASL, MAP["ItemProcessor"]], ids=["top", "per-batch"])
def test_every_transition_names_a_state_of_its_own_scope(scope: dict[str, Any]) -> None:
    states = scope["States"]
    assert scope["StartAt"] in states
    for name, state in states.items():
        targets = [state.get("Next"), *(catch["Next"] for catch in state.get("Catch", []))]
        for target in filter(None, targets):
            assert target in states, f"{name} -> {target}"
        assert state.get("End") or state.get("Next"), name


def test_no_account_ids_in_the_definition() -> None:
    assert "arn:aws:lambda:" not in TEXT
    assert "${LoadConfigFunctionArn}" in TEXT
