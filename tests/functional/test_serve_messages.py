"""What ``foreman local serve`` tells a person on stderr (issue 25, items 11 and 14): a ``--labourer`` that replaces
an example labourer or that no labourer of the config runs, and, on Ctrl-C, that it stopped and that everything was
in memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from foreman.local.stack import PROJECT_ROOT
from foreman.serve import STOPPED


def test_serve_names_what_each_labourer_replaces_or_misses_and_says_it_stopped_on_ctrl_c(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return event\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "foreman.cli", "local", "serve", "--port", "0", "--no-schedule", "--no-console",
         "--labourer", f"reports={tmp_path}:app.handler", "--labourer", f"mine={tmp_path}:app.handler"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = json.loads(process.stdout.readline())
    assert set(line["labourer_code"]) == {"reports", "mine"}

    process.send_signal(signal.SIGINT)  # Ctrl-C
    out, err = process.communicate(timeout=30)

    assert (process.returncode, out) == (0, ""), err[-3000:]
    assert "foreman local serve: --labourer reports replaces the example labourer's function reports" in err
    assert "--labourer mine: no labourer of the config runs function mine, so none of its tasks will be invoked" in err
    assert "--labourer reports: no labourer" not in err
    assert err.rstrip().endswith(STOPPED)
