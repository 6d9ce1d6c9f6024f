"""The delivery advice for labourer authors (docs/delivery.md) holds for Foreman's own defaults."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from foreman.local.deployer import load_template
from foreman_core.config import DEFAULT_COOLDOWN, DEFAULT_DURATION

ROOT = Path(__file__).resolve().parents[2]


def test_the_recommended_event_age_lets_no_late_event_start_after_the_task_expired() -> None:
    page = (ROOT / "docs" / "delivery.md").read_text()
    (snippet,) = re.findall(r"```yaml\n(.*?)```", page, flags=re.DOTALL)
    labourer = yaml.safe_load(snippet)["MyLabourer"]["Properties"]
    config = labourer["EventInvokeConfig"]

    assert config["MaximumRetryAttempts"] == 0  # Foreman retries; Lambda's retries would run a task again
    # An event queued inside Lambda for its whole allowed age, then running for the whole Timeout, still ends
    # before the task expires (duration + cooldown after its invoke), when the Scavenger may retry it.
    assert 60 <= config["MaximumEventAgeInSeconds"] <= DEFAULT_DURATION + DEFAULT_COOLDOWN - labourer["Timeout"]


def test_the_labourer_policy_tells_the_author_the_same() -> None:
    policy = load_template(str(ROOT / "template.yaml"))["Resources"]["LabourerPolicy"]["Properties"]
    description = " ".join(policy["Description"].split())

    assert "MaximumRetryAttempts 0" in description
    assert "MaximumEventAgeInSeconds at most duration + cooldown - its Timeout" in description
    assert "idempotent on task_id + attempts" in description
