"""Example labourer ``thumbnails``: makes a thumbnail of one image per task.

A labourer is an ordinary Lambda function. Foreman invokes it asynchronously with the task's payload and the task's
own fields on top (sosw's contract): ``{"image": ..., "size": ..., "task_id": ..., "labourer_id": "thumbnails",
"created_at": ..., "greenfield": ..., "attempts": ...}``. It needs no Foreman code: its completion is recorded from
its result (on AWS by its asynchronous-invocation destination; locally by the demo and ``foreman local serve``).

This one depends on nothing that can be overloaded, so its config has no health metrics: Foreman runs it at its full
``max_simultaneous_invocations``.
"""

from __future__ import annotations

from typing import Any

DEMO_MINUTES = (1, 1)
"""How long one task takes in the demo's accelerated time (simulated minutes, lowest and highest)."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Make the thumbnail (here: work out its name) and return what was made."""
    image = str(event["image"])
    size = int(event.get("size", 256))
    stem = image.rsplit(".", 1)[0]
    return {"task_id": event["task_id"], "thumbnail": f"{stem}-{size}px.jpg", "size": size}
