"""The documentation's runnable examples run: a doc example that rots fails the suite.

The embedded stack's example lives on the local stack's page (docs/local-stack.md), where the README links to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "local-stack.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
EMBEDDED = [block for block in BLOCKS if "EmbeddedStack(" in block]


def test_the_local_stack_page_has_an_embedded_stack_example() -> None:
    assert len(EMBEDDED) == 1


@pytest.mark.parametrize("block", EMBEDDED)
def test_the_embedded_stack_example_runs_an_orchestrator_execution(
    block: str, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(block, str(PAGE), "exec"), {})  # the page's own example, on the embedded stack

    printed = capsys.readouterr().out
    assert "'labourers': {'worker': {" in printed
    assert "'health': 'not read'" in printed  # the example queues no task: nothing waits, no health is read
