"""The Scavenger's ASL: LoadConfig, then one caught iteration per labourer, the Orchestrator's Lambda retry pattern."""

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


def test_the_run_is_load_config_then_a_map_over_labourers_then_the_summary() -> None:
    assert ASL["StartAt"] == "LoadConfig"
    assert ASL["States"]["LoadConfig"]["Next"] == "ScavengeLabourers"
    assert MAP["Type"] == "Map"
    assert MAP["ItemsPath"] == "$.labourers"
    assert MAP["Next"] == "Summarize"
    assert ASL["States"]["Summarize"]["End"] is True


def test_load_config_is_the_orchestrators_own_step() -> None:
    ours, theirs = (dict(definition["States"]["LoadConfig"]) for definition in (ASL, ORCHESTRATOR))
    for state in (ours, theirs):
        state.pop("Comment")
        state.pop("Next")
    assert ours == theirs


def test_each_labourer_is_isolated_and_bounded() -> None:
    assert 1 <= MAP["MaxConcurrency"] <= 40
    step = INNER["ScavengeLabourer"]
    (catch,) = step["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    assert catch["ResultPath"] == "$.error"
    assert INNER[catch["Next"]]["Type"] == "Pass"
    assert INNER[catch["Next"]]["Parameters"]["labourer_id.$"] == "$.labourer"  # LoadConfig's ids
    assert MAP["ItemSelector"] == {"labourer.$": "$$.Map.Item.Value", "run.$": "$.run", "config.$": "$.config"}


def test_lambda_steps_retry_like_the_orchestrators() -> None:
    assert INNER["ScavengeLabourer"]["Retry"] == ORCHESTRATOR["States"]["LoadConfig"]["Retry"]
    assert INNER["ScavengeLabourer"]["Parameters"]["FunctionName"] == "${ScavengeLabourerFunctionArn}"


@pytest.mark.parametrize("scope", [ASL, MAP["ItemProcessor"]], ids=["top", "per-labourer"])
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
