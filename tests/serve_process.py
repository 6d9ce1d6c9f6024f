"""``foreman local serve`` as a subprocess, as a user starts it: its JSON line read back, its stderr kept in a file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foreman.local.stack import PROJECT_ROOT


@dataclass
class Served:
    """A running ``foreman local serve``: its startup line, its stdout lines so far and its stderr file."""

    line: dict[str, Any]
    lines: list[str]
    stderr: Path

    def stderr_text(self) -> str:
        """Everything it has written to stderr so far."""
        return self.stderr.read_text(encoding="utf-8", errors="replace")


@contextmanager
def served(*arguments: str, stderr: Path, timeout: float = 90.0) -> Iterator[Served]:
    """Run ``foreman local serve --port 0 *arguments`` until the block ends (SIGTERM, then exit code 0 is checked,
    and that stdout carried the one JSON line and nothing else)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    with open(stderr, "w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "foreman.cli", "local", "serve", "--port", "0", *arguments],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
        )
    lines: list[str] = []
    first = threading.Event()

    def drain() -> None:  # read every line, so the pipe never fills up
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            first.set()
        first.set()

    threading.Thread(target=drain, daemon=True).start()
    first.wait(timeout=timeout)
    try:
        if not lines or not lines[0].strip():
            process.kill()
            process.wait()
            raise AssertionError(f"foreman local serve printed no JSON line; stderr: {stderr.read_text()}")
        yield Served(json.loads(lines[0]), lines, stderr)
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)  # its threads' stacks, to stderr (foreman.serve), for the report
            time.sleep(1)
            process.kill()
            process.wait()
            raise AssertionError(
                f"foreman local serve did not stop within 20 s of SIGTERM; its stderr, with every thread's stack "
                f"at the end:\n{stderr.read_text()[-20_000:]}"
            ) from None
        assert code == 0, stderr.read_text()  # SIGTERM stops it cleanly
        assert len(lines) == 1, lines  # stdout carried the JSON line and nothing else
