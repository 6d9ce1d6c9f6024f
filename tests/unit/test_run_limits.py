"""What a config comes near, and what a run could not hold: ``foreman config validate`` warns, LoadConfig refuses."""

from __future__ import annotations

from typing import Any

import pytest

from foreman_core import run
from foreman_core.config import ConfigError, Tables, parse_config
from foreman_core.run_limits import (
    LABOURER_ARNS_PARAMETER_BYTES,
    STATE_BYTES_TARGET,
    config_problems,
    config_warnings,
    report_bytes_most,
)


def _config(labourers: int, *, prefix: str = "fleet-", **top: Any) -> Any:
    return parse_config(
        {
            "task_config": {
                "labourers": {
                    f"{prefix}{n:05d}": {"arn": f"arn:aws:lambda:eu-west-1:111122223333:function:{prefix}{n:05d}"}
                    for n in range(labourers)
                }
            },
            **top,
        }
    )


def test_a_small_config_comes_near_nothing() -> None:
    config = _config(10)

    assert config_problems(config) == []
    assert config_warnings(config, "STANDARD") == []


def test_a_thousand_labourers_are_warned_of_the_queries_the_state_and_the_labourer_arns() -> None:
    config = _config(1000)

    warnings = dict.fromkeys(reason.split(":")[0] for _, reason in config_warnings(config, "STANDARD"))
    reasons = " | ".join(reason for _, reason in config_warnings(config, "STANDARD"))

    assert config_problems(config) == []
    assert "1,000 labourers" in warnings  # the report's share of the state, and the queries
    assert "DynamoDB queries" in reasons
    assert f"{LABOURER_ARNS_PARAMETER_BYTES:,}" in reasons  # LabourerArns: name them with a prefix
    assert "labourers with tasks" not in reasons  # no history bounds the busy labourers: the tasks are in S3
    assert report_bytes_most(config) > STATE_BYTES_TARGET // 2


def test_a_config_a_run_could_not_hold_is_refused_by_load_config_with_its_path() -> None:
    config = _config(2000)

    ((path, reason),) = config_problems(config)
    assert path == "task_config.labourers"
    assert reason.startswith("2,000 labourers: when all have tasks queued their report lines take up to ")
    assert "labourers like these fit one deployment" in reason
    with pytest.raises(ConfigError) as refused:
        run.load_config(config, now=0, execution=None, deployment=Tables())
    assert refused.value.problems == [(path, reason)]


def test_an_express_run_is_not_warned_of_the_history() -> None:
    reasons = " | ".join(reason for _, reason in config_warnings(_config(1000), "EXPRESS"))

    assert "labourers with tasks" not in reasons


def test_idle_labourer_metrics_is_a_flag_kept_in_the_canonical_form() -> None:
    assert _config(2).idle_labourer_metrics is False  # off by default: the bill follows the work (issue 23)
    loud = _config(2, idle_labourer_metrics=True)
    assert loud.idle_labourer_metrics is True
    assert parse_config(loud.to_dict()) == loud
    assert loud.fingerprint() != _config(2).fingerprint()
    with pytest.raises(ConfigError) as refused:
        _config(2, idle_labourer_metrics="no")
    assert refused.value.problems == [("idle_labourer_metrics", "expected true or false, got string 'no'")]
