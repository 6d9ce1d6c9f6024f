"""Execution names on the embedded stack are checked as AWS checks them (issue 17, item 13).

moto's executing backend accepted any name, so a name with a space worked locally and failed on AWS with
``InvalidName``; ``named_executions`` now refuses it as AWS does (``foreman.execution_names``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from foreman.local.stack import EmbeddedStack


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    with EmbeddedStack() as embedded:
        embedded.put_config({"task_config": {"labourers": {}}})
        yield embedded


@pytest.mark.parametrize("name", ["my run", "a/b", "what?", "x" * 81, "tab\there"])
def test_a_name_aws_refuses_is_refused(stack: EmbeddedStack, name: str) -> None:
    sfn = stack.client("stepfunctions")

    with pytest.raises(ClientError) as caught:
        sfn.start_execution(stateMachineArn=stack.outputs["OrchestratorArn"], name=name, input="{}")

    assert caught.value.response["Error"]["Code"] == "InvalidName"


def test_a_name_aws_accepts_runs(stack: EmbeddedStack) -> None:
    sfn = stack.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=stack.outputs["OrchestratorArn"], name="nightly-2026_12_01", input="{}"
    )

    assert started["executionArn"].endswith(":nightly-2026_12_01")
    assert json.loads(sfn.describe_execution(executionArn=started["executionArn"])["input"]) == {}
