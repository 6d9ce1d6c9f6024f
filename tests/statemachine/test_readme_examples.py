"""The README's runnable examples run: a doc example that rots fails the suite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
EMBEDDED = [block for block in BLOCKS if "EmbeddedStack(" in block]


def test_the_readme_has_an_embedded_stack_example() -> None:
    assert len(EMBEDDED) == 1


@pytest.mark.parametrize("block", EMBEDDED)
def test_the_embedded_stack_example_runs_an_orchestrator_execution(
    block: str, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(block, "README.md", "exec"), {})  # the README's own example, on the embedded stack

    printed = capsys.readouterr().out
    assert "'labourers': [{'labourer_id': 'worker'" in printed
    assert "'desired': 3" in printed
