"""Every command block of the README and of ``docs/**/*.md`` runs, as a reader would run it (issue 17, item 11).

A fenced block whose info string is ``bash``, ``sh``, ``shell`` or ``python`` is a command block. Each one runs on
its own: in a fresh directory holding a copy of ``examples/``, with this virtualenv's ``bin`` first on ``PATH`` (so
``foreman`` and ``python3`` are the project's), with no AWS credentials and a fresh ``HOME`` (a block must bring
what it needs), and with ``AWS_ENDPOINT_URL`` naming a running ``foreman local serve`` with its example config and
empty tables (as after the first block of the README's ``foreman local serve`` section). It must exit 0 within
three minutes and leave no process running. Shell blocks run under ``bash -eu -o pipefail``.

A block that cannot run here says so on the line just before its fence (``docs/runnable-examples.md``):

- ``<!-- docs-test: not-run (the reason) -->``: never run (it needs an AWS account, it is a fragment...);
- ``<!-- docs-test: needs aws -->``: run only where that command is installed, skipped (and said so) elsewhere.

Other blocks (``json``, ``yaml``, ``text``, plain fences) are output or reference and never run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.functional import test_cli

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
COMMAND_LANGUAGES = ("bash", "sh", "shell", "python")
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(.*?)\s*-->")
NOT_RUN = re.compile(r"not-run \((.+)\)")
NEEDS = re.compile(r"needs ([A-Za-z0-9_.-]+)")
TIMEOUT_SECONDS = 180

served, endpoint = test_cli.served, test_cli.endpoint  # one `foreman local serve` for the module, reset per test


@dataclass(frozen=True)
class Block:
    """A fenced block: where it is, its info string, its text and the docs-test directive just before it."""

    page: Path
    line: int
    language: str
    text: str
    directive: str | None

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def fenced_blocks(page: Path) -> list[Block]:
    """Every fenced block of a Markdown page, with the ``docs-test`` directive on the line before its fence."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = re.match(r"^(`{3,})\s*([^`\s]*)", lines[index])
        if not opening:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith(opening.group(1)))
        before = DIRECTIVE.fullmatch(lines[index - 1].strip()) if index > 0 else None
        text = "\n".join(lines[index + 1 : end]) + "\n"
        blocks.append(Block(page, index + 1, opening.group(2), text, before.group(1) if before else None))
        index = end + 1
    return blocks


BLOCKS = [block for page in PAGES for block in fenced_blocks(page)]
COMMANDS = [block for block in BLOCKS if block.language in COMMAND_LANGUAGES]


def test_every_directive_is_understood_and_says_why() -> None:
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        directives = sum(1 for line in lines if DIRECTIVE.fullmatch(line.strip()))  # a comment alone on its line
        attached = [block for block in BLOCKS if block.page == page and block.directive is not None]
        assert len(attached) == directives, f"{page.name}: a docs-test comment must be just before a fence"
    for block in BLOCKS:
        if block.directive is None:
            continue
        assert block.language in COMMAND_LANGUAGES, f"{block.name}: a directive on a block that never runs"
        assert NOT_RUN.fullmatch(block.directive) or NEEDS.fullmatch(block.directive), (
            f"{block.name}: unknown directive {block.directive!r}; use 'not-run (reason)' or 'needs COMMAND'"
        )


def test_the_docs_have_command_blocks_that_run() -> None:
    runnable = [block for block in COMMANDS if block.directive is None]
    assert any("foreman local serve" in block.text for block in runnable)
    assert any(block.language == "python" for block in runnable)
    assert any(block.page.name == "troubleshooting.md" for block in runnable)


def _environment(endpoint_url: str, home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(home),
            "AWS_ENDPOINT_URL": endpoint_url,
        }
    )
    return env


def _still_running(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("block", COMMANDS, ids=lambda block: block.name)
def test_the_command_block_runs(block: Block, endpoint: str, tmp_path: Path) -> None:
    if block.directive is not None and NOT_RUN.fullmatch(block.directive):
        pytest.skip(f"not run: {NOT_RUN.fullmatch(block.directive).group(1)}")  # type: ignore[union-attr]
    needs = NEEDS.fullmatch(block.directive or "")
    if needs and shutil.which(needs.group(1)) is None:
        pytest.skip(f"needs {needs.group(1)}, which is not installed here")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    home = tmp_path / "home"
    home.mkdir()
    shell = ["bash", "-euo", "pipefail", "-c", block.text]
    argv = [sys.executable, "-c", block.text] if block.language == "python" else shell
    process = subprocess.Popen(
        argv, cwd=tmp_path, env=_environment(endpoint, home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{block.name} did not finish in {TIMEOUT_SECONDS} s:\n{output}")
    left_running = _still_running(process.pid)
    if left_running:
        os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, f"{block.name} exited {process.returncode}:\n{output}"
    assert not left_running, f"{block.name} left a process running (a server it started and did not stop)"
