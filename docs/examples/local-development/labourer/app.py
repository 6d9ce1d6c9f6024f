"""An example labourer for docs/local-development.md: one text file per task, the task's text in capitals.

It is an ordinary Lambda handler with no Foreman code. Foreman invokes it asynchronously with the task's payload plus
``task_id``, ``labourer_id`` and ``attempts`` (how many times it was invoked before this one); Lambda reports the
outcome (the returned object, or the exception) to Foreman's TaskDestination function.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shout import shout  # a module beside this one: the function's folder is on sys.path, as on Lambda


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    out = Path(os.environ.get("OUT_DIR") or Path(__file__).parent / "out")
    out.mkdir(exist_ok=True)
    print(f"{context.function_name}: task {event['task_id']}, attempt {event['attempts'] + 1}")
    text = shout(event["text"])  # a task without "text" fails with KeyError: Foreman retries it, then sets it aside
    (out / f"{event['task_id']}.txt").write_text(text)
    return {"characters": len(text)}
