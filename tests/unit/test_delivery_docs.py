"""The delivery advice for labourer authors (docs/delivery.md) holds for Foreman's own defaults."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from foreman.local.deployer import load_template
from foreman_core.config import DEFAULT_COOLDOWN, DEFAULT_DURATION
from foreman_core.run_clock import LATEST_SEND_SECONDS

ROOT = Path(__file__).resolve().parents[2]


def test_the_recommended_event_age_lets_no_late_event_start_after_the_task_expired() -> None:
    page = (ROOT / "docs" / "delivery.md").read_text()
    (snippet,) = re.findall(r"```yaml\n(.*?)```", page, flags=re.DOTALL)
    labourer = yaml.safe_load(snippet)["MyLabourer"]["Properties"]
    config = labourer["EventInvokeConfig"]

    assert config["MaximumRetryAttempts"] == 0  # Foreman retries; Lambda's retries would run a task again
    # An event sent as late as a run can send it, queued inside Lambda for its whole allowed age, then running for
    # the whole Timeout, still ends before the task expires (duration + cooldown after its run's start), when the
    # Scavenger may retry it.
    latest_end = LATEST_SEND_SECONDS + config["MaximumEventAgeInSeconds"] + labourer["Timeout"]
    assert config["MaximumEventAgeInSeconds"] >= 60  # Lambda's least
    assert latest_end <= DEFAULT_DURATION + DEFAULT_COOLDOWN
    assert f"\u2212 {LATEST_SEND_SECONDS} (and at least 60)" in page  # a minus sign, as the page writes it


def test_the_labourer_policy_tells_the_author_the_same() -> None:
    policy = load_template(str(ROOT / "template.yaml"))["Resources"]["LabourerPolicy"]["Properties"]
    description = " ".join(policy["Description"].split())

    assert "MaximumRetryAttempts 0" in description
    assert f"MaximumEventAgeInSeconds at most duration + cooldown - its Timeout - {LATEST_SEND_SECONDS}" in description
    assert "idempotent on task_id + attempts" in description
