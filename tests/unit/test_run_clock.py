"""The run's clock, identity and claim deadline (``foreman_core.run_clock``), and how the template sets them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from foreman.local.deployer import load_template
from foreman.local.stack import LOCAL_ENVIRONMENT
from foreman_core.run_clock import (
    CLAIM_WINDOW,
    CLAIM_WINDOW_SECONDS,
    CLOCK_FROM_INPUT,
    LATEST_SEND_SECONDS,
    RunInputError,
    claim_window,
    deadline_text,
    is_run_id,
    new_run_id,
    run_start,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(str(ROOT / "template.yaml"))


def test_a_run_without_now_runs_on_the_services_clock() -> None:
    assert run_start({}, real_now=1_800_000_000.5, environment={}) == 1_800_000_000.5


@pytest.mark.parametrize("allowed", ["", "false", "no"])
def test_a_deployed_run_refuses_a_clock_from_its_input_naming_the_field(allowed: str) -> None:
    with pytest.raises(RunInputError, match=r"input\.now: a deployed Orchestrator runs on the service's clock"):
        run_start({"now": 1}, real_now=2.0, environment={CLOCK_FROM_INPUT: allowed})


def test_the_embedded_stack_takes_the_clock_from_the_input_and_checks_it() -> None:
    allowed = {CLOCK_FROM_INPUT: "true"}
    assert run_start({"now": 1_700_000_000}, real_now=2.0, environment=allowed) == 1_700_000_000.0
    for bad in ("soon", True, float("inf"), None, [1]):
        with pytest.raises(RunInputError, match=r"input\.now: must be unix seconds"):
            run_start({"now": bad}, real_now=2.0, environment=allowed)


def test_every_run_id_is_new_and_recognisable() -> None:
    ids = {new_run_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(is_run_id(run_id) for run_id in ids)
    assert not any(is_run_id(mark) for mark in ("arn:aws:states:...:execution:x:y", "", None, 7, "abc123"))


def test_the_deadline_is_a_whole_second_utc_timestamp_never_earlier_than_asked() -> None:
    text = deadline_text(1_800_000_000.2)
    assert text == "2027-01-15T08:00:01Z"
    assert datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp() >= 1_800_000_000.2
    assert deadline_text(1_800_000_000) == "2027-01-15T08:00:00Z"


def test_the_claim_window_comes_from_the_environment_and_must_be_positive() -> None:
    assert claim_window({}) == CLAIM_WINDOW_SECONDS
    assert claim_window({CLAIM_WINDOW: "30"}) == 30
    with pytest.raises(ValueError, match="CLAIM_WINDOW_SECONDS must be a positive number"):
        claim_window({CLAIM_WINDOW: "0"})


def _environment(logical_id: str) -> dict[str, object]:
    variables: dict[str, object] = TEMPLATE["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
    return variables


def test_a_deployed_stack_never_takes_a_clock_from_the_input_and_claims_within_its_lease() -> None:
    load_config = _environment("LoadConfigFunction")
    lease_seconds = int(str(_environment("ComputeEcologyFunction")["LEASE_SECONDS"]))
    definition = (ROOT / "statemachine" / "orchestrator.asl.json").read_text()
    timeout = int(definition.split('"TimeoutSeconds": ')[1].split(",")[0])

    assert CLOCK_FROM_INPUT not in load_config  # only the embedded stack sets it (LOCAL_ENVIRONMENT)
    assert LOCAL_ENVIRONMENT[CLOCK_FROM_INPUT] == "true"
    assert int(str(load_config[CLAIM_WINDOW])) == CLAIM_WINDOW_SECONDS
    # the last write of a run (a claim started before the deadline, with every retry) lands before the run times
    # out, and a run times out before its lease expires
    assert LATEST_SEND_SECONDS < timeout < lease_seconds


CALL_SECONDS = 1.0
"""What one AWS call of a task state may take, at most, besides the retries' sleeps (a DynamoDB write or an
asynchronous Invoke answers in milliseconds; a second is generous)."""


def _worst_seconds(state: dict[str, object]) -> float:
    """The longest a Task state can take with every retry used: each retrier's sleeps (interval x backoff^n, capped
    at MaxDelaySeconds; a FULL jitter only shortens them) and ``CALL_SECONDS`` per call."""
    seconds = CALL_SECONDS
    for retrier in state.get("Retry", []):  # type: ignore[attr-defined]
        interval, rate = float(retrier.get("IntervalSeconds", 1)), float(retrier.get("BackoffRate", 2))
        cap = float(retrier.get("MaxDelaySeconds", float("inf")))
        for attempt in range(int(retrier.get("MaxAttempts", 3))):
            seconds += min(interval * rate**attempt, cap) + CALL_SECONDS
    return seconds


def test_a_claim_started_before_the_deadline_ends_within_the_send_margin_with_every_retry_slept() -> None:
    import json

    definition = json.loads((ROOT / "statemachine" / "invocations.asl.json").read_text())
    labourer = definition["States"]["InvokeLabourers"]["ItemProcessor"]["States"]["InvokeTasks"]["ItemProcessor"]
    states = labourer["States"]

    def longest(name: str) -> float:  # the slowest path from ``name`` to an end, in seconds
        state = states[name]
        following = [state.get("Next"), state.get("Default"), *(c["Next"] for c in state.get("Catch", []))]
        following += [choice["Next"] for choice in state.get("Choices", [])]
        own = _worst_seconds(state) if state["Type"] == "Task" else 0.0
        return own + max((longest(n) for n in following if n), default=0.0)

    worst = longest("Claim")
    assert worst <= LATEST_SEND_SECONDS - CLAIM_WINDOW_SECONDS  # the SEND_MARGIN_SECONDS the deadline leaves
    assert worst > 30  # the measure is real: 4 claim and 3 invoke retries, then a release's 4, all slept
