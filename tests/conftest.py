"""Shared fixtures: fake AWS credentials so nothing can reach a real account."""

from __future__ import annotations

import os
from typing import Any

import pytest

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with fake credentials and a fixed region; no real profile or endpoint leaks in."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Foreman")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "foreman")


# Hypothesis: the default profile fits the normal `make test` time; `make soak` runs the long one
# (HYPOTHESIS_PROFILE=soak). No example database: every run explores afresh, and CI keeps no state.
from hypothesis import HealthCheck, settings  # noqa: E402 - the profiles belong beside the fixtures

_PROFILE: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
settings.register_profile("default", max_examples=40, **_PROFILE)
settings.register_profile("soak", max_examples=400, **_PROFILE)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
